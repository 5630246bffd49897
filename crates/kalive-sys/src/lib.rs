//! kalive-sys: see ../shared/DESIGN.md (Layers).
#![deny(unsafe_code)]
