//! `UpdateView::new_checked` (the zero-copy UPDATE path) against `Message::decode`, on the
//! same `bgp_wire::arbitrary::UpdateInput` as `bgp_update_decode` (first byte: context,
//! rest: the body behind a valid header). A view exists exactly when the owned decode
//! accepts the UPDATE, its accessors and `path_attributes` read the same values, and
//! every other input gives the owned result unchanged.
#![no_main]

use bgp_wire::arbitrary::UpdateInput;
use bgp_wire::{Message, UpdateView, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: UpdateInput| {
    let (b, ctx) = (&input.message, &input.ctx);
    let owned = Message::decode(b, ctx);
    match (
        UpdateView::new_checked(&b[..], ctx),
        &owned.message,
        &owned.verdict,
    ) {
        (Ok(v), Some(Message::Update(u)), Verdict::Accepted) => {
            assert!(v.announced().eq(u.announced().map(|(f, n)| (f, *n))));
            assert!(v.withdrawals().eq(u.withdrawals().map(|(f, n)| (f, *n))));
            assert_eq!(v.as_path().map(|p| p.to_as_path()).as_ref(), u.as_path());
            assert!(v.communities().eq(u.communities().iter().copied()));
            assert_eq!(v.attributes().count(), u.attributes.len());
            assert!(
                v.path_attributes()
                    .map(|a| a.to_attribute())
                    .eq(u.attributes.iter().cloned())
            );
        }
        (Ok(_), _, v) => panic!("view accepted what decode gives {v:?}"),
        (Err(d), ..) => assert_eq!(d, owned),
    }
});
