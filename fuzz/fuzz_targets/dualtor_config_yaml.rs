//! Calico YAML loader: never panics on any input; an accepted configuration
//! validates, and planning any of its nodes never panics.
#![no_main]

use dualtor::config::{Config, NoSecrets, plan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::from_yaml(text) {
        assert_eq!(config.validate(), Ok(()));
        for node in &config.nodes {
            let _ = plan(&config, &node.name, &[], &NoSecrets);
        }
    }
});
