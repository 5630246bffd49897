//! kalive-vrrp: see ../shared/DESIGN.md (Layers).
