//! Render times: one label per format (target: under 2 ms each), a 1,000-parcel manifest
//! (target: under 1 s), a 500-item packing slip with 1,000-character items (target: under
//! 200 ms) and 500 ordinary orders' slips merged (target: under 5 s).
//! `cargo bench -p consign-documents`.

use consign_documents::manifest::{self, ManifestData, ManifestRow};
use consign_documents::{label, LabelData, LabelFormat};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn sample(i: u32) -> LabelData {
    LabelData {
        carrier: "Correio Expresso".into(),
        service: "Expresso 24h".into(),
        marker: "Z2".into(),
        tracking_number: format!("CT{i:09}PT"),
        from: vec![
            "Loja Exemplo Lda".into(),
            "Rua Augusta 100".into(),
            "1100-053 Lisboa".into(),
            "Portugal".into(),
        ],
        to: vec![
            "Łukasz Żółw".into(),
            "ul. Piotrkowska 12".into(),
            "90-001 Łódź".into(),
            "Poland".into(),
        ],
        to_postal_code: "90-001".into(),
        to_country: "PL".into(),
        weight: "2.5 kg".into(),
        ship_date: "2026-11-23".into(),
        references: vec!["REF 1: Order #1001".into()],
        piece: "1/1".into(),
        test: false,
        footer: "Consign 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4".into(),
    }
}

fn labels(c: &mut Criterion) {
    for format in [LabelFormat::Pdf4x6, LabelFormat::Png, LabelFormat::Zpl] {
        let mut i = 0;
        c.bench_function(&format!("label {}", format.as_str()), |b| {
            b.iter(|| {
                i += 1;
                black_box(label::render(&sample(i), format).unwrap())
            })
        });
    }
}

fn manifests(c: &mut Criterion) {
    let data = ManifestData {
        manifest_id: "0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4".into(),
        carrier: "Correio Expresso".into(),
        account: "CE-1234".into(),
        shipment_date: "2026-11-23".into(),
        from: vec!["Loja Exemplo Lda".into(), "1100-053 Lisboa".into()],
        rows: (0..1000)
            .map(|i| ManifestRow {
                tracking_number: format!("CT{i:09}PT"),
                city: "Łódź".into(),
                postal_code: "90-001".into(),
                country: "PL".into(),
                service: "Expresso 24h".into(),
                weight: "2.5 kg".into(),
            })
            .collect(),
        total_weight: "2500 kg".into(),
        test: false,
    };
    let mut group = c.benchmark_group("manifest");
    group.sample_size(10);
    group.bench_function("1000 parcels PDF", |b| {
        b.iter(|| black_box(manifest::render(&data).unwrap()))
    });
    group.finish();
}

fn slips(c: &mut Criterion) {
    use consign_documents::packing_slip::{self, SlipData, SlipLine};
    let order = |n: usize, items: usize, title: &str| SlipData {
        order_number: format!("#{n}"),
        placed: "2026-11-23".into(),
        ship_to: vec![
            "Łukasz Żółw".into(),
            "ul. Piotrkowska 12".into(),
            "90-001 Łódź".into(),
        ],
        from: vec!["Loja Exemplo Lda".into(), "1100-053 Lisboa".into()],
        lines: (0..items)
            .map(|i| SlipLine {
                title: title.to_string(),
                variant: "Blue / L".into(),
                sku: format!("SKU-{i:05}"),
                quantity: 1,
                ordered: 2,
            })
            .collect(),
        notes: "Gift wrap, please.".into(),
        test: false,
        shop: String::new(),
    };
    let long = order(1, 500, &"Hippo plush, extra soft ".repeat(42));
    let ordinary: Vec<SlipData> = (0..500).map(|n| order(n, 3, "Hippo plush")).collect();
    let mut group = c.benchmark_group("packing slip");
    group.sample_size(10);
    group.bench_function("500 items of 1000 characters", |b| {
        b.iter(|| black_box(packing_slip::render(std::slice::from_ref(&long)).unwrap()))
    });
    group.bench_function("500 orders merged", |b| {
        b.iter(|| black_box(packing_slip::render(&ordinary).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, labels, manifests, slips);
criterion_main!(benches);
