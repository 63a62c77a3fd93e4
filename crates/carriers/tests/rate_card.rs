//! Rate-card prices checked against sums done by hand from `fixtures/courier-pt.json`.

use consign_carriers::rate_card::{parse_json, to_json, RateCard};
use consign_carriers::{Location, Options, ParcelSpec, RateResult, ShipmentSpec};
use domain::units::{DistanceUnit, MassUnit};
use rust_decimal::Decimal;

fn card() -> RateCard {
    parse_json(include_str!("fixtures/courier-pt.json")).expect("fixture card is valid")
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn at(country: &str, zip: &str) -> Location {
    Location {
        country: country.into(),
        zip: zip.into(),
        ..Default::default()
    }
}

fn cm_kg(l: &str, w: &str, h: &str, kg: &str) -> ParcelSpec {
    ParcelSpec {
        length: d(l),
        width: d(w),
        height: d(h),
        distance_unit: DistanceUnit::Cm,
        weight: d(kg),
        mass_unit: MassUnit::Kg,
    }
}

fn ship(from: Location, to: Location, parcels: Vec<ParcelSpec>) -> ShipmentSpec {
    ShipmentSpec {
        from,
        to,
        parcels,
        options: Options::default(),
        ..Default::default()
    }
}

fn amount(r: &RateResult, service: &str) -> Decimal {
    r.quotes
        .iter()
        .find(|q| q.service_token == service)
        .unwrap_or_else(|| panic!("no {service} quote: {r:?}"))
        .amount
}

fn message_code<'a>(r: &'a RateResult, service: &str) -> &'a str {
    &r.messages
        .iter()
        .find(|m| m.service.as_deref() == Some(service))
        .unwrap_or_else(|| panic!("no {service} message: {r:?}"))
        .code
}

#[test]
fn local_zone_by_postal_code_beats_the_national_zone() {
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("20", "15", "10", "2")],
        ),
    );
    // std, zone L: 2 kg (dim 3000/5000 = 0.6 kg) → bracket ≤5 = 4.50; fuel 10% = 0.45.
    assert_eq!(amount(&r, "std"), d("4.95"));
    // exp, zone L: 2 kg (dim 0.75) → 9.00; fuel 0.90.
    assert_eq!(amount(&r, "exp"), d("9.90"));
    assert!(r
        .quotes
        .iter()
        .all(|q| q.zone == "L" && q.currency == "EUR"));
    let std = r.quotes.iter().find(|q| q.service_token == "std").unwrap();
    assert_eq!(
        (std.days, std.terms.as_str(), std.service_name.as_str()),
        (Some(3), "2-3 business days", "Standard")
    );
    assert_eq!(
        std.lines
            .iter()
            .map(|l| (l.code.as_str(), l.amount))
            .collect::<Vec<_>>(),
        [("base", d("4.50")), ("fuel", d("0.45"))]
    );
}

#[test]
fn dimensional_weight_and_steps_above_the_last_bracket() {
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("PT", "4000-001"),
            vec![cm_kg("50", "40", "30", "1")],
        ),
    );
    // std, zone N: 60000 cm³ / 5000 = 12 kg billed; last bracket 10 kg = 8.00, + ceil(2/2) × 1.00 = 9.00; fuel 0.90.
    assert_eq!(amount(&r, "std"), d("9.90"));
    // exp: 60000 / 4000 = 15 kg billed, above its last bracket (5 kg) with no step.
    assert_eq!(message_code(&r, "exp"), "weight_not_priced");
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("PT", "4000-001"),
            vec![cm_kg("10", "10", "10", "12.5")],
        ),
    );
    // 12.5 kg actual: 8.00 + ceil(2.5/2) = 2 steps × 1.00 = 10.00; fuel 1.00.
    assert_eq!(amount(&r, "std"), d("11.00"));
}

#[test]
fn limits_omit_services_with_reasons() {
    let c = card();
    let heavy = consign_carriers::rate_card::rate_shipment(
        &c,
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("10", "10", "10", "35")],
        ),
    );
    assert!(heavy.quotes.is_empty());
    assert_eq!(message_code(&heavy, "std"), "max_weight_exceeded");
    assert!(
        heavy.messages[0]
            .text
            .contains("35 kg exceeds the 30 kg limit"),
        "{}",
        heavy.messages[0].text
    );
    let long = consign_carriers::rate_card::rate_shipment(
        &c,
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("20", "160", "10", "1")],
        ),
    );
    assert_eq!(message_code(&long, "std"), "max_length_exceeded");
    // 140 + 2 × (80) = 300 fits exactly; 140 + 2 × (51 + 30) = 302 does not.
    let fits = consign_carriers::rate_card::rate_shipment(
        &c,
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("140", "50", "30", "1")],
        ),
    );
    assert!(fits.quotes.iter().any(|q| q.service_token == "std"));
    let girth = consign_carriers::rate_card::rate_shipment(
        &c,
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("140", "51", "30", "1")],
        ),
    );
    assert_eq!(message_code(&girth, "std"), "max_size_exceeded");
}

#[test]
fn surcharges_and_insurance_add_up() {
    let mut s = ship(
        at("PT", "1000-001"),
        Location {
            residential: true,
            ..at("PT", "9000-001")
        },
        vec![cm_kg("20", "20", "20", "3")],
    );
    s.options = Options {
        signature: true,
        saturday_delivery: false,
        insured_value: Some(d("500")),
    };
    let r = consign_carriers::rate_card::rate_shipment(&card(), &s);
    // std, zone N: base 6.00 (3 kg; dim 8000/5000 = 1.6) + fuel 0.60 + residential 1.50 + islands 5.00
    // + signature 2.00 + insurance 1.5% × 500 = 7.50 → 22.60.
    assert_eq!(amount(&r, "std"), d("22.60"));
    let codes: Vec<&str> = r.quotes[0].lines.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "base",
            "fuel",
            "residential",
            "remote",
            "signature",
            "insurance"
        ]
    );
    // exp does not carry insured parcels.
    assert_eq!(message_code(&r, "exp"), "insurance_not_offered");
    s.options.insured_value = Some(d("80"));
    let r = consign_carriers::rate_card::rate_shipment(&card(), &s);
    assert_eq!(
        amount(&r, "std"),
        d("16.10"),
        "first band: 1.00 instead of 7.50"
    );
    s.options.insured_value = Some(d("5000"));
    let r = consign_carriers::rate_card::rate_shipment(&card(), &s);
    assert_eq!(message_code(&r, "std"), "insured_value_too_high");
}

#[test]
fn multi_piece_shipments_are_priced_per_piece() {
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("PT", "1100-001"),
            vec![cm_kg("10", "10", "10", "2"), cm_kg("10", "10", "10", "7")],
        ),
    );
    // 4.50 + 6.00 = 10.50; fuel 10% = 1.05.
    assert_eq!(amount(&r, "std"), d("11.55"));
}

#[test]
fn units_are_converted_to_the_cards() {
    let parcel = ParcelSpec {
        length: d("8"),
        width: d("6"),
        height: d("4"),
        distance_unit: DistanceUnit::In,
        weight: d("4.4"),
        mass_unit: MassUnit::Lb,
    };
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(at("PT", "1000-001"), at("PT", "1100-001"), vec![parcel]),
    );
    // 4.4 lb = 1.99580… kg; 192 in³ = 3146.32… cm³ (dim 0.63 kg) → bracket ≤5 kg.
    assert_eq!(amount(&r, "std"), d("4.95"));
}

#[test]
fn zones_not_served_and_unknown_routes_are_explained() {
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("US", "94117"),
            vec![cm_kg("10", "10", "10", "1")],
        ),
    );
    assert!(r.quotes.is_empty());
    assert_eq!(message_code(&r, "std"), "zone_not_served");
    assert_eq!(message_code(&r, "exp"), "zone_not_served");
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("PT", "1000-001"),
            at("FR", "75001"),
            vec![cm_kg("10", "10", "10", "1")],
        ),
    );
    assert_eq!(amount(&r, "std"), d("9.90"), "zone E: 9.00 + fuel 0.90");
    let r = consign_carriers::rate_card::rate_shipment(
        &card(),
        &ship(
            at("ES", "28001"),
            at("PT", "1000-001"),
            vec![cm_kg("10", "10", "10", "1")],
        ),
    );
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].code, "no_zone");
}

#[test]
fn cards_round_trip_through_json() {
    let c = card();
    assert_eq!(parse_json(&to_json(&c)).unwrap(), c);
}

#[test]
fn cards_declare_their_tracking_number_format() {
    use consign_carriers::rate_card::{parse_csv, CheckDigit, TrackingFormat};
    let pt = card().tracking;
    assert_eq!(
        (pt.prefix.as_str(), pt.digits, pt.suffix.as_str(), pt.check),
        ("CT", 8, "PT", CheckDigit::S10)
    );
    assert!(pt.is_valid(&pt.format(12_345_678)));
    let cl = parse_csv(include_str!("fixtures/courier-cl.csv"))
        .unwrap()
        .tracking;
    assert_eq!(
        (cl.prefix.as_str(), cl.digits, cl.check),
        ("CL", 10, CheckDigit::Mod10)
    );
    // A card without one gets 12 digits with a Luhn check digit.
    let mut doc: serde_json::Value = serde_json::from_str(&to_json(&card())).unwrap();
    doc.as_object_mut().unwrap().remove("tracking");
    assert_eq!(
        parse_json(&doc.to_string()).unwrap().tracking,
        TrackingFormat::default()
    );
    doc["tracking"] =
        serde_json::json!({"prefix": "C", "digits": 8, "suffix": "PT", "check_digit": "s10"});
    let err = parse_json(&doc.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("tracking: s10 numbers start with 2 capital letters"),
        "{err}"
    );
    doc["tracking"] = serde_json::json!({"digits": 8, "check_digit": "mod97"});
    assert!(parse_json(&doc.to_string())
        .unwrap_err()
        .to_string()
        .contains("tracking.check_digit"));
    let bad_row = include_str!("fixtures/courier-cl.csv")
        .replace("tracking,CL,10,,mod10", "tracking,CL,ten,,mod10");
    let err = parse_csv(&bad_row).unwrap_err().to_string();
    assert!(err.contains("(tracking): digits"), "{err}");
}

#[test]
fn bad_cards_name_every_problem() {
    let bad = r#"{
      "name": "", "currency": "EURO", "mass_unit": "stone", "distance_unit": "cm",
      "services": [{"token": "std", "name": "Standard", "dim_divisor": "0"}, {"token": "std", "name": ""}],
      "zones": [{"id": "A", "rules": [{"origin": {"country": "XX"}, "destination": {"country": "PT", "postal_ranges": [["2000", "1000"]]}}]}],
      "prices": [
        {"service": "std", "zone": "A", "brackets": [{"max_weight": "5", "price": "4"}, {"max_weight": "2", "price": "abc"}]},
        {"service": "nope", "zone": "B", "brackets": []}
      ],
      "surcharges": [{"code": "fuel", "type": "always", "fixed": "1", "percent": "2"}, {"code": "x", "type": "sometimes", "fixed": "1"}]
    }"#;
    let err = parse_json(bad).unwrap_err();
    let fields: Vec<&str> = err.0.iter().map(|(f, _)| f).collect();
    for expected in [
        "name",
        "currency",
        "mass_unit",
        "services[0].dim_divisor",
        "services[1].token",
        "services[1].name",
        "zones[0].rules[0].origin.country",
        "zones[0].rules[0].destination.postal_ranges[0]",
        "prices[0].brackets[1].max_weight",
        "prices[0].brackets[1].price",
        "prices[1].zone",
        "prices[1].brackets",
        "prices[1].service",
        "surcharges[0]",
        "surcharges[1].type",
    ] {
        assert!(
            fields.contains(&expected),
            "missing {expected} in {fields:?}"
        );
    }
    assert!(parse_json("{\"name\": 1}")
        .unwrap_err()
        .to_string()
        .starts_with("card: not a valid rate card document"));
}

#[test]
fn the_test_carrier_is_predictable() {
    use consign_carriers::test_carrier::TestCarrier;
    use consign_carriers::Carrier;
    let parcel = ParcelSpec {
        length: d("10"),
        width: d("8"),
        height: d("4"),
        distance_unit: DistanceUnit::In,
        weight: d("2.5"),
        mass_unit: MassUnit::Lb,
    };
    let us = |zip: &str, state: &str| Location {
        country: "US".into(),
        state: state.into(),
        zip: zip.into(),
        residential: false,
        address: Default::default(),
    };
    let r = answered(TestCarrier.rates(&ship(
        us("94117", "CA"),
        us("10001", "NY"),
        vec![parcel.clone()],
    )));
    // 2.5 lb: 1 lb bracket + ceil(1.5) = 2 steps. Priority dim weight 320/166 = 1.93 lb < 2.5.
    assert_eq!(amount(&r, "usps_ground_advantage"), d("7.00"));
    assert_eq!(amount(&r, "usps_priority"), d("11.00"));
    assert_eq!(amount(&r, "usps_priority_express"), d("31.00"));
    assert_eq!(TestCarrier.meta().id, "shippo");
    let r = answered(TestCarrier.rates(&ship(us("94117", "CA"), at("DE", "10117"), vec![parcel])));
    assert_eq!(amount(&r, "usps_priority"), d("50.00"));
    assert_eq!(message_code(&r, "usps_ground_advantage"), "zone_not_served");
}

#[test]
fn the_demo_card_prices_domestic_and_international() {
    let card = consign_carriers::test_carrier::demo_card();
    let us = |zip: &str, state: &str| Location {
        country: "US".into(),
        state: state.into(),
        zip: zip.into(),
        residential: false,
        address: Default::default(),
    };
    let parcel = ParcelSpec {
        length: d("10"),
        width: d("8"),
        height: d("6"),
        distance_unit: DistanceUnit::In,
        weight: d("3"),
        mass_unit: MassUnit::Lb,
    };
    let r = consign_carriers::rate_card::rate_shipment(
        &card,
        &ship(us("94117", "CA"), us("90210", "CA"), vec![parcel.clone()]),
    );
    // Zone 1 (CA → CA), 3 lb (dim 480/139 = 3.45 lb billed) → ≤5 lb bracket 8.90 + fuel 8.5 % (0.7565) = 9.6565 → 9.66.
    assert_eq!(amount(&r, "demo_ground"), d("9.66"));
    assert!(r.quotes.iter().all(|q| q.zone == "1"));
    let r = consign_carriers::rate_card::rate_shipment(
        &card,
        &ship(us("94117", "CA"), us("10001", "NY"), vec![parcel.clone()]),
    );
    assert!(r.quotes.iter().all(|q| q.zone == "3"), "{r:?}");
    let r = consign_carriers::rate_card::rate_shipment(
        &card,
        &ship(us("94117", "CA"), at("JP", "100-0005"), vec![parcel]),
    );
    // Zone 6: 61.00 + 8.5 % = 66.185 → 66.19.
    assert_eq!(amount(&r, "demo_international"), d("66.19"));
}

#[test]
fn csv_cards_round_trip() {
    use consign_carriers::rate_card::{parse_csv, to_csv};
    for c in [
        card(),
        consign_carriers::test_carrier::demo_card(),
        parse_csv(include_str!("fixtures/courier-cl.csv")).unwrap(),
    ] {
        assert_eq!(parse_csv(&to_csv(&c)).unwrap(), c, "{}", to_csv(&c));
    }
}

#[test]
fn a_csv_price_list_in_clp_prices_by_region_and_postal_range() {
    let card =
        consign_carriers::rate_card::parse_csv(include_str!("fixtures/courier-cl.csv")).unwrap();
    assert_eq!(
        (
            card.currency.as_str(),
            card.services.len(),
            card.zones.len()
        ),
        ("CLP", 2, 3)
    );
    assert_eq!(card.services[0].terms, "1-3 días hábiles");
    let rm = |zip: &str| Location {
        country: "CL".into(),
        state: "RM".into(),
        zip: zip.into(),
        residential: false,
        address: Default::default(),
    };
    let cl = |state: &str, zip: &str| Location {
        country: "CL".into(),
        state: state.into(),
        zip: zip.into(),
        residential: false,
        address: Default::default(),
    };
    // Santiago → Santiago, 2 kg: 3990 + 7.5 % (299.25) = 4289.25 → 4289 (CLP has no decimals).
    let r = consign_carriers::rate_card::rate_shipment(
        &card,
        &ship(
            rm("8320000"),
            rm("7500000"),
            vec![cm_kg("20", "20", "10", "2")],
        ),
    );
    assert_eq!(amount(&r, "normal"), d("4289"));
    // Express, 2 kg (dim 4000/4000 = 1): 6990 + 524.25 = 7514.25 → 7514.
    assert_eq!(amount(&r, "express"), d("7514"));
    // Santiago → Antofagasta (north), 7 kg: 7990 + 2 × 1290 = 10570 + 7.5 % = 11362.75 → 11363.
    let r = consign_carriers::rate_card::rate_shipment(
        &card,
        &ship(
            rm("8320000"),
            cl("AN", "1240000"),
            vec![cm_kg("20", "20", "10", "7")],
        ),
    );
    assert_eq!(amount(&r, "normal"), d("11363"));
    assert_eq!(message_code(&r, "express"), "zone_not_served");
    // Santiago → Punta Arenas (south, extreme zone by postal range), 1 kg, insured 200 000:
    // 3990 + 299.25 fuel + 3500 extreme + 1.2 % × 200000 = 2400 → 10189.25 → 10189.
    let mut s = ship(
        rm("8320000"),
        cl("MA", "6200000"),
        vec![cm_kg("10", "10", "10", "1")],
    );
    s.options.insured_value = Some(d("200000"));
    let r = consign_carriers::rate_card::rate_shipment(&card, &s);
    assert_eq!(amount(&r, "normal"), d("10189"));
    assert_eq!(r.quotes[0].zone, "SUR");
}

#[test]
fn bad_csv_rows_are_named() {
    let bad = "card,Bad,CLP,kg,cm\n\
               service,normal,Normal,,3,maybe,no\n\
               zone,RM,RM,CL/RM,CL/RM\n\
               price,normal,RM,5,2990\n\
               price,normal,RM,3,abc\n\
               band,seguro,100,1\n\
               parcel,x\n";
    let err = consign_carriers::rate_card::parse_csv(bad).unwrap_err();
    let fields: Vec<&str> = err.0.iter().map(|(f, _)| f).collect();
    for expected in [
        "row 2 (service): trackable",
        "row 6 (band)",
        "row 7",
        "row 5 (price): max_weight",
        "row 5 (price): price",
    ] {
        assert!(
            fields.contains(&expected),
            "missing {expected} in {fields:?}"
        );
    }
    let err = consign_carriers::rate_card::parse_csv("service,a,A\n").unwrap_err();
    assert!(err.0.iter().any(|(f, _)| f == "card"), "{err}");
}

/// The result of an in-process carrier's future, which must be ready on its first poll.
fn answered(f: consign_carriers::RateFuture<'_>) -> consign_carriers::RateResult {
    use std::task::{Context, Poll, Waker};
    let mut f = f;
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.expect("an in-process carrier does not fail"),
        Poll::Pending => panic!("an in-process carrier answers at once"),
    }
}
