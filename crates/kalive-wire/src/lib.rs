//! kalive-wire: see ../shared/DESIGN.md (Layers).
