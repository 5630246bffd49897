//! kalive-lb: see ../shared/DESIGN.md (Layers).
