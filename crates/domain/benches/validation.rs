//! Benchmarks of the pure address and parcel checks that run on every create.

use consign_domain::address::{assess, parse_input, validate_offline, AddressFields, AddressInput};
use consign_domain::parcel::{parse_parcel, ParcelInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn address() -> AddressFields {
    AddressFields {
        name: "Shawn Ippotle".into(),
        street1: "215 Clayton St.".into(),
        city: "San Francisco".into(),
        state: "California".into(),
        zip: "94117".into(),
        country: "US".into(),
        email: "shippotle@goshippo.com".into(),
        phone: "+1 555 341 9393".into(),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    // Warm the lazily compiled metadata so the first sample is not an outlier.
    let _ = validate_offline(&address());
    c.bench_function("address_create_checks", |b| {
        b.iter(|| {
            let (f, p) = parse_input(AddressInput {
                fields: address(),
                ..Default::default()
            })
            .unwrap();
            black_box(assess(&f, p))
        })
    });
    c.bench_function("address_validate_offline", |b| {
        b.iter(|| black_box(validate_offline(black_box(&address()))))
    });
    c.bench_function("parcel_parse", |b| {
        b.iter(|| {
            black_box(parse_parcel(ParcelInput {
                length: Some("20".into()),
                width: Some("15.5".into()),
                height: Some("12".into()),
                distance_unit: Some("in".into()),
                weight: Some("5".into()),
                mass_unit: Some("lb".into()),
                ..Default::default()
            }))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
