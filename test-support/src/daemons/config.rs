//! Typed BGP configuration rendered to BIRD 2, FRR and GoBGP syntax.
