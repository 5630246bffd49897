//! kalive-check: see ../shared/DESIGN.md (Layers).
