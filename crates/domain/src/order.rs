//! Orders: what a buyer bought and where it goes, from whichever source it came (the API, a CSV
//! file, and later shops, marketplaces and crowdfunding projects), and how far labels cover it.
//!
//! Every source maps onto this one model: a [`Source`] with the source's own id (unique per
//! account and mode, so a second import of the same order updates it), line items with the
//! quantity ordered and the quantity labels already carry, and one [`OrderStatus`] whose moves
//! are checked by [`OrderStatus::can_become`]. Fulfilment is derived, never set by hand: labels
//! linked to the order add to each line item's `shipped`, refunds take it back, and
//! [`Order::fulfilment`] says what that makes of the status.

use crate::{ObjectId, Timestamp};

/// Where an order stands. Shippo's seven states plus the ones its wire enum lacks
/// (shown there as the nearest Shippo state, see [`OrderStatus::shippo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// The source did not say.
    Unknown,
    /// Awaiting payment: not to be shipped yet.
    AwaitingPayment,
    /// Paid: ready to ship.
    Paid,
    /// Held by the merchant: not to be shipped until released.
    OnHold,
    /// Some, not all, line items are on labels.
    PartiallyFulfilled,
    /// Every line item is on a label.
    Shipped,
    /// Every label of a shipped order was delivered.
    Delivered,
    Cancelled,
    Refunded,
    /// Sent back by the buyer or returned to sender.
    Returned,
}
wire_enum!(OrderStatus {
    Unknown => "UNKNOWN",
    AwaitingPayment => "AWAITPAY",
    Paid => "PAID",
    OnHold => "ON_HOLD",
    PartiallyFulfilled => "PARTIALLY_FULFILLED",
    Shipped => "SHIPPED",
    Delivered => "DELIVERED",
    Cancelled => "CANCELLED",
    Refunded => "REFUNDED",
    Returned => "RETURNED",
});

impl OrderStatus {
    /// Shippo's `order_status` enum (UNKNOWN, AWAITPAY, PAID, REFUNDED, CANCELLED,
    /// PARTIALLY_FULFILLED, SHIPPED), which its SDK checks exactly: ON_HOLD shows as PAID,
    /// DELIVERED and RETURNED as SHIPPED. Consign's own state is answered beside it.
    pub fn shippo(self) -> &'static str {
        match self {
            OrderStatus::OnHold => "PAID",
            OrderStatus::Delivered | OrderStatus::Returned => "SHIPPED",
            other => other.as_str(),
        }
    }

    /// Where a source or the merchant may move an order from `self` (the state table of
    /// `docs/ORDERS.md`). PARTIALLY_FULFILLED and SHIPPED are never among them: labels decide
    /// those (an order released from hold goes back to where its labels put it).
    pub fn moves(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Unknown => &[AwaitingPayment, Paid, OnHold, Cancelled, Refunded],
            AwaitingPayment => &[Unknown, Paid, OnHold, Cancelled, Refunded],
            Paid => &[Unknown, AwaitingPayment, OnHold, Cancelled, Refunded],
            OnHold => &[Unknown, AwaitingPayment, Paid, Cancelled, Refunded],
            PartiallyFulfilled => &[OnHold, Cancelled, Refunded],
            Shipped => &[Delivered, Returned, Refunded],
            Delivered => &[Returned, Refunded],
            Returned => &[Refunded],
            Cancelled | Refunded => &[],
        }
    }

    /// The moves of [`OrderStatus::moves`] written out for a message (`"PAID, CANCELLED"`, or
    /// `"none"`).
    pub fn moves_named(self) -> String {
        let names: Vec<&str> = self.moves().iter().map(|s| s.as_str()).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }

    /// Whether a source or the merchant may move an order from `self` to `to`. Staying put is
    /// always allowed (a re-import that changes nothing); fulfilment states are reached through
    /// labels, and a cancelled or refunded order stays closed.
    pub fn can_become(self, to: OrderStatus) -> bool {
        self == to || self.moves().contains(&to)
    }

    /// Whether labels may be bought for the order: not while it awaits payment, is held, or is
    /// closed.
    pub fn shippable(self) -> bool {
        !matches!(
            self,
            OrderStatus::Cancelled
                | OrderStatus::Refunded
                | OrderStatus::AwaitingPayment
                | OrderStatus::OnHold
        )
    }

    /// Whether the status is one labels decide (it follows the line items' quantities).
    pub fn in_fulfilment(self) -> bool {
        matches!(
            self,
            OrderStatus::Unknown
                | OrderStatus::Paid
                | OrderStatus::PartiallyFulfilled
                | OrderStatus::Shipped
        )
    }
}

/// Where an order came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// `POST /orders`.
    Api,
    /// A CSV import (`POST /orders/import`, `consign orders import`).
    Csv,
    /// An integration: a shop, a marketplace, a crowdfunding project; `kind:instance`
    /// (e.g. `jumpseller:store-code`, `project:<id>`), named by the integration.
    Integration(String),
}

impl Source {
    /// The stored spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Api => "api",
            Source::Csv => "csv",
            Source::Integration(s) => s,
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Source {
        match s {
            "api" => Source::Api,
            "csv" => Source::Csv,
            other => Source::Integration(other.to_string()),
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineItem {
    pub id: ObjectId,
    pub title: String,
    #[serde(default)]
    pub variant_title: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    /// Ordered.
    pub quantity: u32,
    /// On labels (bought or being bought) and not refunded.
    #[serde(default)]
    pub shipped: u32,
    /// Decimal string, e.g. `12.10`.
    #[serde(default)]
    pub total_price: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// Decimal string: the weight of the whole line (all `quantity` units, as Shippo defines it).
    #[serde(default)]
    pub weight: Option<String>,
    #[serde(default)]
    pub weight_unit: Option<String>,
    #[serde(default)]
    pub manufacture_country: Option<String>,
    /// **Consign**: the Harmonized System code customs declarations carry for it.
    #[serde(default)]
    pub hs_code: Option<String>,
    #[serde(default)]
    pub max_ship_time: Option<Timestamp>,
    #[serde(default)]
    pub max_delivery_time: Option<Timestamp>,
    #[serde(default)]
    pub description: Option<String>,
}

impl LineItem {
    /// How many are still to ship.
    pub fn remaining(&self) -> u32 {
        self.quantity.saturating_sub(self.shipped)
    }
}

/// Prices and descriptive fields kept as the source gave them (decimal strings, checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderDetails {
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub subtotal_price: Option<String>,
    #[serde(default)]
    pub total_price: Option<String>,
    #[serde(default)]
    pub total_tax: Option<String>,
    #[serde(default)]
    pub shipping_cost: Option<String>,
    #[serde(default)]
    pub shipping_cost_currency: Option<String>,
    #[serde(default)]
    pub shipping_method: Option<String>,
    /// Decimal string.
    #[serde(default)]
    pub weight: Option<String>,
    #[serde(default)]
    pub weight_unit: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// The buyer's email when it is not on the ship-to address.
    #[serde(default)]
    pub buyer_email: Option<String>,
    /// The buyer's phone when it is not on the ship-to address.
    #[serde(default)]
    pub buyer_phone: Option<String>,
}

/// An order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub source: Source,
    /// The source's own id for the order (unique per account, mode and source); `None` for
    /// orders made through the API without one.
    pub source_id: Option<String>,
    pub order_number: Option<String>,
    pub status: OrderStatus,
    pub placed_at: Timestamp,
    pub to_address: ObjectId,
    pub from_address: Option<ObjectId>,
    /// Shippo's `shop_app` (e.g. `Shippo`, `CSV_Import`, `Shopify`).
    pub shop_app: String,
    pub line_items: Vec<LineItem>,
    pub details: OrderDetails,
}

/// A part of an order one parcel carries: a line item and how many of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Portion {
    pub line_item: ObjectId,
    pub quantity: u32,
}

impl Order {
    /// The status the line items' coverage gives an order in fulfilment (see
    /// [`OrderStatus::in_fulfilment`]); other states are left as they are. An order without line
    /// items is shipped by any label (`labelled`).
    pub fn fulfilment(&self, labelled: bool) -> OrderStatus {
        if !self.status.in_fulfilment() {
            return self.status;
        }
        let shipped: u32 = self.line_items.iter().map(|l| l.shipped).sum();
        let all = self.line_items.iter().all(|l| l.remaining() == 0);
        if self.line_items.is_empty() {
            if labelled {
                OrderStatus::Shipped
            } else if self.status == OrderStatus::Shipped {
                OrderStatus::Paid
            } else {
                self.status
            }
        } else if all {
            OrderStatus::Shipped
        } else if shipped > 0 {
            OrderStatus::PartiallyFulfilled
        } else if matches!(
            self.status,
            OrderStatus::PartiallyFulfilled | OrderStatus::Shipped
        ) {
            OrderStatus::Paid
        } else {
            self.status
        }
    }

    /// What a parcel carries when the purchase names the order and no line items: everything
    /// still to ship.
    pub fn remaining(&self) -> Vec<Portion> {
        self.line_items
            .iter()
            .filter(|l| l.remaining() > 0)
            .map(|l| Portion {
                line_item: l.id,
                quantity: l.remaining(),
            })
            .collect()
    }

    /// Adds `portions` to the line items' shipped quantities, or says why not (the message
    /// names the line item).
    pub fn allocate(&mut self, portions: &[Portion]) -> Result<(), String> {
        if !self.status.shippable() {
            return Err(format!(
                "Order {} is {} and cannot be shipped{}.",
                self.id,
                self.status.as_str(),
                if self.status == OrderStatus::OnHold {
                    " until it is released (order_status PAID)"
                } else {
                    ""
                }
            ));
        }
        for p in portions {
            let Some(item) = self.line_items.iter_mut().find(|l| l.id == p.line_item) else {
                return Err(format!(
                    "Order {} has no line item {}.",
                    self.id, p.line_item
                ));
            };
            if p.quantity == 0 || p.quantity > item.remaining() {
                return Err(format!(
                    "Line item {} of order {} has {} left to ship; a parcel cannot carry {}.",
                    item.id,
                    self.id,
                    item.remaining(),
                    p.quantity
                ));
            }
            item.shipped += p.quantity;
        }
        Ok(())
    }

    /// Gives `portions` back (a label was refunded or failed).
    pub fn release(&mut self, portions: &[Portion]) {
        for p in portions {
            if let Some(item) = self.line_items.iter_mut().find(|l| l.id == p.line_item) {
                item.shipped = item.shipped.saturating_sub(p.quantity);
            }
        }
    }

    /// Weight of what is still to ship, in `unit`, when every such line item has a weight (each
    /// line's weight shared evenly over its units).
    pub fn remaining_weight(&self, unit: crate::units::MassUnit) -> Option<rust_decimal::Decimal> {
        let mut total = rust_decimal::Decimal::ZERO;
        for l in self.line_items.iter().filter(|l| l.remaining() > 0) {
            let w: rust_decimal::Decimal = l.weight.as_deref()?.parse().ok()?;
            let from: crate::units::MassUnit = l.weight_unit.as_deref()?.parse().ok()?;
            total += crate::units::convert_mass(w, from, unit)
                * rust_decimal::Decimal::from(l.remaining())
                / rust_decimal::Decimal::from(l.quantity.max(1));
        }
        Some(total)
    }
}

/// List filters for `GET /orders` and the web app's inbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    /// Any of these (empty = all).
    pub statuses: Vec<OrderStatus>,
    pub placed_from: Option<Timestamp>,
    pub placed_to: Option<Timestamp>,
    pub shop_app: Option<String>,
    /// The ship-to country (ISO 3166-1 alpha-2, upper case).
    pub country: Option<String>,
    /// The search box: an order number (with or without `#`), the buyer's email or full name
    /// (case-insensitive, whole value), a tracking number on one of its labels, or a backer's
    /// pledge id. Each is looked up on an index.
    pub search: Option<String>,
    /// Only these orders (a selection; empty = no restriction).
    pub ids: Vec<ObjectId>,
    /// Keyset pagination: only orders older than this one (ids are time-ordered).
    pub before: Option<ObjectId>,
}

/// Longest search text (anything longer names no order).
pub const SEARCH_MAX: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn order(items: &[(u32, u32)]) -> Order {
        Order {
            id: ObjectId::new(),
            created: Timestamp::from_millis(0),
            updated: Timestamp::from_millis(0),
            test: true,
            source: Source::Api,
            source_id: None,
            order_number: Some("#1".into()),
            status: OrderStatus::Paid,
            placed_at: Timestamp::from_millis(0),
            to_address: ObjectId::new(),
            from_address: None,
            shop_app: "Shippo".into(),
            line_items: items
                .iter()
                .map(|&(quantity, shipped)| LineItem {
                    id: ObjectId::new(),
                    title: "x".into(),
                    variant_title: None,
                    sku: None,
                    quantity,
                    shipped,
                    total_price: None,
                    currency: None,
                    weight: Some("0.5".into()),
                    weight_unit: Some("lb".into()),
                    manufacture_country: None,
                    hs_code: None,
                    max_ship_time: None,
                    max_delivery_time: None,
                    description: None,
                })
                .collect(),
            details: OrderDetails::default(),
        }
    }

    #[test]
    fn fulfilment_follows_quantities_both_ways() {
        let mut o = order(&[(2, 0), (1, 0)]);
        let first = Portion {
            line_item: o.line_items[0].id,
            quantity: 1,
        };
        o.allocate(&[first]).unwrap();
        assert_eq!(o.fulfilment(true), OrderStatus::PartiallyFulfilled);
        o.status = OrderStatus::PartiallyFulfilled;
        let rest = o.remaining();
        assert_eq!(rest.iter().map(|p| p.quantity).sum::<u32>(), 2);
        o.allocate(&rest).unwrap();
        assert_eq!(o.fulfilment(true), OrderStatus::Shipped);
        o.status = OrderStatus::Shipped;
        o.release(&rest);
        assert_eq!(o.fulfilment(true), OrderStatus::PartiallyFulfilled);
        o.status = OrderStatus::PartiallyFulfilled;
        o.release(&[first]);
        assert_eq!(o.fulfilment(false), OrderStatus::Paid);
    }

    #[test]
    fn over_allocation_and_closed_orders_are_refused() {
        let mut o = order(&[(1, 1)]);
        let p = Portion {
            line_item: o.line_items[0].id,
            quantity: 1,
        };
        assert!(o.allocate(&[p]).unwrap_err().contains("0 left to ship"));
        let mut c = order(&[(1, 0)]);
        c.status = OrderStatus::Cancelled;
        let p = Portion {
            line_item: c.line_items[0].id,
            quantity: 1,
        };
        assert!(c.allocate(&[p]).unwrap_err().contains("CANCELLED"));
        assert_eq!(c.line_items[0].shipped, 0);
        let mut h = order(&[(1, 0)]);
        h.status = OrderStatus::OnHold;
        let p = Portion {
            line_item: h.line_items[0].id,
            quantity: 1,
        };
        assert!(h.allocate(&[p]).unwrap_err().contains("ON_HOLD"));
        assert_eq!(h.line_items[0].shipped, 0);
    }

    #[test]
    fn transitions_are_checked() {
        use OrderStatus::*;
        assert!(AwaitingPayment.can_become(Paid));
        assert!(Paid.can_become(OnHold));
        assert!(Shipped.can_become(Delivered));
        assert!(!Cancelled.can_become(Paid));
        assert!(!Shipped.can_become(Paid));
        assert!(!Paid.can_become(Shipped), "shipping happens through labels");
        assert!(!Shipped.can_become(Paid));
        assert!(Paid.can_become(Unknown), "the table lets UNKNOWN be set");
        assert!(OnHold.can_become(Paid));
        assert!(PartiallyFulfilled.can_become(OnHold));
        assert!(!OnHold.shippable(), "a held order takes no label");
        assert_eq!(Shipped.moves_named(), "DELIVERED, RETURNED, REFUNDED");
        assert_eq!(Cancelled.moves_named(), "none");
        // No state may be moved to a fulfilment state by hand.
        for from in [
            Unknown,
            AwaitingPayment,
            Paid,
            OnHold,
            PartiallyFulfilled,
            Shipped,
            Delivered,
            Cancelled,
            Refunded,
            Returned,
        ] {
            assert!(!from.moves().contains(&PartiallyFulfilled), "{from:?}");
            assert!(!from.moves().contains(&Shipped), "{from:?}");
            assert!(!from.moves().contains(&from), "{from:?}");
        }
        assert_eq!(OnHold.shippo(), "PAID");
        assert_eq!(Delivered.shippo(), "SHIPPED");
    }

    #[test]
    fn remaining_weight_converts_units() {
        // Lines of 0.5 lb each: two units with none shipped, one unit already shipped.
        let o = order(&[(2, 0), (1, 1)]);
        assert_eq!(
            o.remaining_weight(crate::units::MassUnit::Oz).unwrap(),
            rust_decimal::Decimal::from(8)
        );
    }
}
