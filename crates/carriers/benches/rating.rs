//! Rating one shipment in-process against a card of 5 services × 10 zones × 30 weight brackets
//! (the target: median under 20 µs).

use consign_carriers::rate_card::{parse_json, rate_shipment};
use consign_carriers::{Location, Options, ParcelSpec, ShipmentSpec};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use domain::units::{DistanceUnit, MassUnit};
use serde_json::json;

fn big_card() -> String {
    let services: Vec<_> = (0..5)
        .map(|s| json!({"token": format!("svc{s}"), "name": format!("Service {s}"), "transit_days": s + 1, "dim_divisor": "5000", "max_weight": "70", "max_length": "200", "max_length_plus_girth": "400", "insurance": true}))
        .collect();
    // Zone 0: a postal-prefix chart; zones 1-8: one country each; zone 9: rest of the world.
    let countries = ["ES", "FR", "DE", "IT", "NL", "BE", "GB", "IE"];
    let mut zones = vec![
        json!({"id": "Z0", "rules": [{"origin": {"country": "PT", "postal_prefixes": ["1", "2"]}, "destination": {"country": "PT", "postal_ranges": [["1000", "2999"]]}}, {"origin": {"country": "PT"}, "destination": {"country": "PT"}}]}),
    ];
    for (i, c) in countries.iter().enumerate() {
        zones.push(json!({"id": format!("Z{}", i + 1), "rules": [{"origin": {"country": "PT"}, "destination": {"country": c}}]}));
    }
    zones.push(json!({"id": "Z9", "rules": [{"origin": {"country": "PT"}, "destination": {}}]}));
    let mut prices = Vec::new();
    for s in 0..5 {
        for z in 0..10 {
            let brackets: Vec<_> = (1..=30).map(|b| json!({"max_weight": format!("{}", b), "price": format!("{}.{:02}", 3 + s + z + b, (b * 7) % 100)})).collect();
            prices.push(json!({"service": format!("svc{s}"), "zone": format!("Z{z}"), "brackets": brackets, "step": {"per": "1", "price": "0.75"}}));
        }
    }
    let surcharges = json!([
        {"code": "fuel", "type": "always", "percent": "12.5"},
        {"code": "residential", "type": "residential", "fixed": "1.80"},
        {"code": "remote", "type": "remote", "fixed": "5", "places": [{"country": "PT", "postal_prefixes": ["9"]}, {"country": "ES", "postal_prefixes": ["35", "38"]}]},
        {"code": "insurance", "type": "insurance", "bands": [{"max_value": "100", "fixed": "1"}, {"max_value": "1000", "percent": "1.5"}]}
    ]);
    json!({"name": "Bench", "currency": "EUR", "mass_unit": "kg", "distance_unit": "cm", "services": services, "zones": zones, "prices": prices, "surcharges": surcharges}).to_string()
}

fn bench(c: &mut Criterion) {
    let card = parse_json(&big_card()).expect("bench card is valid");
    let shipment = ShipmentSpec {
        from: Location {
            country: "PT".into(),
            zip: "1000-001".into(),
            ..Default::default()
        },
        to: Location {
            country: "ES".into(),
            zip: "35001".into(),
            residential: true,
            ..Default::default()
        },
        parcels: vec![ParcelSpec {
            length: "40".parse().unwrap(),
            width: "30".parse().unwrap(),
            height: "20".parse().unwrap(),
            distance_unit: DistanceUnit::Cm,
            weight: "12.3".parse().unwrap(),
            mass_unit: MassUnit::Kg,
        }],
        options: Options {
            insured_value: Some("250".parse().unwrap()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(rate_shipment(&card, &shipment).quotes.len(), 5);
    c.bench_function("rate_card_5x10x30_one_shipment", |b| {
        b.iter(|| black_box(rate_shipment(black_box(&card), black_box(&shipment))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
