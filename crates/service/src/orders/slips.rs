//! Packing slips.
