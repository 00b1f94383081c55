//! Calico selector parser: never panics; an accepted selector's Display
//! form parses back to the same tree and evaluates the same way.
#![no_main]

use dualtor::config::{Labels, Selector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Selector::parse(text) {
        Ok(sel) => {
            let shown = sel.to_string();
            // Values holding both quote characters cannot be written back.
            if !shown.contains('"') || !shown.contains('\'') {
                assert_eq!(Selector::parse(&shown).as_ref(), Ok(&sel), "{shown}");
            }
            let labels = Labels::from([("rack".to_owned(), "ra".to_owned())]);
            let _ = sel.matches(&labels);
        }
        Err(e) => assert!(e.offset <= text.len()),
    }
});
