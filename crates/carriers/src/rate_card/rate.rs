//! Pricing a shipment against a rate card.
//!
//! Per parcel: billed weight = max(actual, dimensional); base = the first bracket that holds the
//! billed weight, or the last bracket plus `step.price` per started `step.per` above it; then the
//! surcharges that apply (fixed amounts per parcel, percentages of that parcel's base). Insurance
//! is priced once per shipment on the declared value. The total is rounded to the currency's
//! minor unit once, at the end. A service that cannot carry the shipment yields a message saying
//! why instead of a quote.

use domain::money::round_to_currency;
use domain::units::{convert_length, convert_mass};
use rust_decimal::Decimal;

use super::{Amount, Condition, RateCard, Service, Zone, ZonePrices};
use crate::{ChargeLine, Message, Quote, RateResult, ShipmentSpec};

/// A parcel in the card's units, sides sorted longest first.
struct Piece {
    weight: Decimal,
    sides: [Decimal; 3],
}

/// Prices `shipment` with every service of `card`.
pub fn rate_shipment(card: &RateCard, shipment: &ShipmentSpec) -> RateResult {
    let mut result = RateResult::default();
    if shipment.parcels.is_empty() {
        result.messages.push(message(
            None,
            "no_parcels",
            "The shipment has no parcels to price.".into(),
        ));
        return result;
    }
    let Some(zone) = card.zone_for(&shipment.from, &shipment.to) else {
        result.messages.push(message(
            None,
            "no_zone",
            format!(
                "{} has no zone for {} {} → {} {}.",
                card.name,
                shipment.from.country,
                shipment.from.zip,
                shipment.to.country,
                shipment.to.zip
            ),
        ));
        return result;
    };
    let pieces: Vec<Piece> = shipment
        .parcels
        .iter()
        .map(|p| {
            let mut sides = [p.length, p.width, p.height]
                .map(|v| convert_length(v, p.distance_unit, card.distance_unit));
            sides.sort_by(|a, b| b.cmp(a));
            Piece {
                weight: convert_mass(p.weight, p.mass_unit, card.mass_unit),
                sides,
            }
        })
        .collect();
    for service in &card.services {
        match rate_service(card, service, zone, &pieces, shipment) {
            Ok(quote) => result.quotes.push(quote),
            Err(m) => result.messages.push(m),
        }
    }
    result
}

fn message(service: Option<&str>, code: &str, text: String) -> Message {
    Message {
        service: service.map(str::to_string),
        code: code.into(),
        text,
    }
}

fn add(lines: &mut Vec<ChargeLine>, code: &str, amount: Decimal) {
    match lines.iter_mut().find(|l| l.code == code) {
        Some(line) => line.amount += amount,
        None => lines.push(ChargeLine {
            code: code.to_string(),
            amount,
        }),
    }
}

fn apply(amount: Amount, base: Decimal) -> Decimal {
    match amount {
        Amount::Fixed(v) => v,
        Amount::Percent(p) => base * p / Decimal::ONE_HUNDRED,
    }
}

fn rate_service(
    card: &RateCard,
    service: &Service,
    zone: &Zone,
    pieces: &[Piece],
    s: &ShipmentSpec,
) -> Result<Quote, Message> {
    let token = service.token.as_str();
    let unit = card.mass_unit.as_str();
    let dist = card.distance_unit.as_str();
    let fail = |code: &str, text: String| message(Some(token), code, text);
    let prices = service
        .prices
        .iter()
        .find(|p| p.zone == zone.id)
        .ok_or_else(|| {
            fail(
                "zone_not_served",
                format!("{} does not serve zone {}.", service.name, zone.name),
            )
        })?;
    if s.options.insured_value.is_some() && !service.insurance {
        return Err(fail(
            "insurance_not_offered",
            format!("{} cannot carry insured parcels.", service.name),
        ));
    }
    let mut lines: Vec<ChargeLine> = Vec::with_capacity(4);
    for piece in pieces {
        if let Some(max) = service.max_weight {
            if piece.weight > max {
                return Err(fail(
                    "max_weight_exceeded",
                    format!(
                        "{} {unit} exceeds the {max} {unit} limit of {}.",
                        piece.weight.normalize(),
                        service.name
                    ),
                ));
            }
        }
        if let Some(max) = service.max_length {
            if piece.sides[0] > max {
                return Err(fail(
                    "max_length_exceeded",
                    format!(
                        "A side of {} {dist} exceeds the {max} {dist} limit of {}.",
                        piece.sides[0].normalize(),
                        service.name
                    ),
                ));
            }
        }
        if let Some(max) = service.max_length_plus_girth {
            let girth = piece.sides[0] + Decimal::TWO * (piece.sides[1] + piece.sides[2]);
            if girth > max {
                return Err(fail(
                    "max_size_exceeded",
                    format!(
                        "Length plus girth of {} {dist} exceeds the {max} {dist} limit of {}.",
                        girth.normalize(),
                        service.name
                    ),
                ));
            }
        }
        let billed = match service.dim_divisor {
            Some(divisor) => piece
                .weight
                .max(piece.sides[0] * piece.sides[1] * piece.sides[2] / divisor),
            None => piece.weight,
        };
        let base = price_for(prices, billed).ok_or_else(|| {
            fail(
                "weight_not_priced",
                format!(
                    "{} has no price above {} {unit} in zone {}.",
                    service.name,
                    prices
                        .brackets
                        .last()
                        .map(|b| b.max_weight)
                        .unwrap_or_default(),
                    zone.name
                ),
            )
        })?;
        add(&mut lines, "base", base);
        for surcharge in card
            .surcharges
            .iter()
            .filter(|x| x.services.is_empty() || x.services.iter().any(|t| t == token))
        {
            let amount = match &surcharge.when {
                Condition::Always(a) => Some(*a),
                Condition::Residential(a) => s.to.residential.then_some(*a),
                Condition::Signature(a) => s.options.signature.then_some(*a),
                Condition::SaturdayDelivery(a) => s.options.saturday_delivery.then_some(*a),
                Condition::Remote(a, places) => places
                    .iter()
                    .any(|p| {
                        p.specificity(&s.to.country, &s.to.state, &s.to.zip)
                            .is_some()
                    })
                    .then_some(*a),
                Condition::Insurance(_) => None,
            };
            if let Some(a) = amount {
                add(&mut lines, &surcharge.code, apply(a, base));
            }
        }
    }
    let mut insurance = None;
    if let Some(value) = s.options.insured_value {
        for surcharge in &card.surcharges {
            if let Condition::Insurance(bands) = &surcharge.when {
                if !(surcharge.services.is_empty() || surcharge.services.iter().any(|t| t == token))
                {
                    continue;
                }
                let band = bands.iter().find(|b| value <= b.max_value).ok_or_else(|| {
                    fail(
                        "insured_value_too_high",
                        format!(
                            "A declared value of {value} {} is above what {} insures.",
                            card.currency, service.name
                        ),
                    )
                })?;
                let price = apply(band.amount, value);
                add(&mut lines, &surcharge.code, price);
                insurance = Some(insurance.unwrap_or(Decimal::ZERO) + price);
            }
        }
    }
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    Ok(Quote {
        service_token: service.token.clone(),
        service_name: service.name.clone(),
        terms: service.terms.clone(),
        days: service.transit_days,
        zone: zone.id.clone(),
        amount: round_to_currency(total, &card.currency),
        currency: card.currency.clone(),
        lines,
        trackable: service.trackable,
        insurance: insurance.map(|i| round_to_currency(i, &card.currency)),
        provider: None,
        remote: None,
    })
}

/// The base price for a billed weight, or `None` above the card's last bracket without a step.
fn price_for(prices: &ZonePrices, billed: Decimal) -> Option<Decimal> {
    if let Some(b) = prices.brackets.iter().find(|b| billed <= b.max_weight) {
        return Some(b.price);
    }
    let last = prices.brackets.last()?;
    let step = prices.step?;
    let steps = ((billed - last.max_weight) / step.per).ceil();
    Some(last.price + steps * step.price)
}
