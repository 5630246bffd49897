//! Model → engine configs (DESIGN.md, Inside the daemon: `config/lower/`).
//! The VRRP half still lives in `setup.rs`; [`lvs`] lowers the
//! `virtual_server` half into kalive-check's and kalive-lb's configs.

pub mod lvs;

pub use lvs::{lower, LvsPlan, RealServerPlan, ServicePlan};
