//! The Linux FIB programmer of a dual-ToR node.
//!
//! `fib` will own everything between the route engine and the kernel:
//! route and nexthop-object messages (built by pure functions), the
//! rtnetlink socket, batching and acknowledgements, link/address/nexthop
//! monitoring, and desired-state reconciliation that never touches a route
//! it did not create.
#![forbid(unsafe_code)]
