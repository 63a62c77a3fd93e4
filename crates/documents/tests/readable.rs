//! Documents are read back the way machines read them: PNGs decoded at their pixel size, PDFs
//! parsed and rasterised by poppler (`pdfinfo`, `pdftotext`, `pdftoppm`), barcodes decoded by
//! zbar (`zbarimg`), ZPL checked command by command. The tools come from Debian's
//! `poppler-utils` and `zbar-tools` (installed by `.ci/run`).

use consign_documents::invoice::{self, InvoiceData, InvoiceItem};
use consign_documents::manifest::{self, ManifestData, ManifestRow};
use consign_documents::{label, LabelData, LabelFormat};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory, removed when the test passes (kept for a look when it fails).
struct Workdir(PathBuf);

impl Workdir {
    fn join(&self, name: impl AsRef<std::path::Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn workdir(name: &str) -> Workdir {
    let dir = std::env::temp_dir().join(format!("consign-docs-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Workdir(dir)
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (poppler-utils, zbar-tools): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every symbol zbar finds in an image, as "TYPE:data" lines, sorted.
fn scan(image: &Path) -> Vec<String> {
    let mut found: Vec<String> = run("zbarimg", &["-q", image.to_str().unwrap()])
        .lines()
        .map(str::to_string)
        .collect();
    found.sort();
    found
}

/// Rasterises the first page of a PDF at `dpi` and returns the PNG's path.
fn rasterise(pdf: &Path, dpi: u32) -> PathBuf {
    let prefix = pdf.with_extension("");
    run(
        "pdftoppm",
        &[
            "-r",
            &dpi.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            "-png",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    prefix.with_extension("png")
}

/// The value of a `pdfinfo` field.
fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("pdfinfo has no {name}: {info}"))
}

fn sample(tracking: &str, test: bool) -> LabelData {
    LabelData {
        carrier: "Correio Expresso".into(),
        service: "Expresso 24h".into(),
        marker: "Z2".into(),
        tracking_number: tracking.into(),
        from: vec![
            "Łukasz Żółw".into(),
            "ul. Piotrkowska 12".into(),
            "90-001 Łódź".into(),
            "Poland".into(),
        ],
        to: vec![
            "Иван Петров".into(),
            "Straße des 17. Juni 5".into(),
            "01310-100 São Paulo".into(),
            "Brazil".into(),
        ],
        to_postal_code: "01310-100".into(),
        to_country: "BR".into(),
        weight: "2.5 kg".into(),
        ship_date: "2026-11-23".into(),
        references: vec!["REF 1: Order #1001".into()],
        piece: "1/1".into(),
        test,
        footer: "Consign 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4".into(),
    }
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(bytes);
    let reader = decoder.read_info().expect("the PNG decodes");
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn png_labels_have_exact_thermal_sizes_and_scan() {
    let dir = workdir("png");
    for (format, size) in [
        (LabelFormat::Png, (812, 1218)),
        (LabelFormat::Png2x7, (467, 1523)),
    ] {
        let data = sample("CT000000017PT", false);
        let doc = label::render(&data, format).unwrap();
        assert_eq!(doc.content_type, "image/png");
        assert_eq!(png_size(&doc.bytes), size, "{format:?} at 203 dpi");
        let path = dir.join(format!("{}.png", format.as_str().replace('.', "_")));
        std::fs::write(&path, &doc.bytes).unwrap();
        assert_eq!(
            scan(&path),
            vec![
                "CODE-128:CT000000017PT".to_string(),
                format!("QR-Code:{}", data.qr_payload())
            ],
            "{format:?}"
        );
    }
}

#[test]
fn numeric_tracking_numbers_scan_from_png() {
    let dir = workdir("numeric");
    let doc = label::render(
        &sample("92055901755477000000000015", true),
        LabelFormat::Png,
    )
    .unwrap();
    let path = dir.join("n.png");
    std::fs::write(&path, &doc.bytes).unwrap();
    assert!(scan(&path).contains(&"CODE-128:92055901755477000000000015".to_string()));
}

#[test]
fn pdf_labels_parse_at_their_page_size_keep_their_text_and_scan_when_rasterised() {
    let dir = workdir("pdf");
    let expected_points = [
        (LabelFormat::Pdf, "612 x 792"),
        (LabelFormat::Pdf2x7, "165.6 x 540"),
        (LabelFormat::Pdf4x6, "288 x 432"),
        (LabelFormat::Pdf4x8, "288 x 576"),
        (LabelFormat::PdfA4, "595.276 x 841.89"),
        (LabelFormat::PdfA5, "419.528 x 595.276"),
        (LabelFormat::PdfA6, "297.638 x 419.528"),
    ];
    for (format, points) in expected_points {
        let data = sample("CT000000017PT", true);
        let doc = label::render(&data, format).unwrap();
        assert_eq!(doc.content_type, "application/pdf");
        let path = dir.join(format!("{}.pdf", format.as_str().replace('.', "_")));
        std::fs::write(&path, &doc.bytes).unwrap();
        let info = run("pdfinfo", &[path.to_str().unwrap()]);
        let size = field(&info, "Page size");
        assert!(
            size.starts_with(&format!("{points} pts")),
            "{format:?} is {size}"
        );
        assert_eq!(field(&info, "Pages"), "1");
        let text = run("pdftotext", &[path.to_str().unwrap(), "-"]);
        for needle in [
            "Łódź",
            "Иван Петров",
            "São Paulo",
            "Straße",
            "CT000000017PT",
            "SAMPLE",
            "DO NOT SHIP",
            "EXPRESSO 24H",
            "Z2",
            "2.5 kg",
            "2026-11-23",
            "Order #1001",
        ] {
            assert!(
                text.to_uppercase().contains(&needle.to_uppercase()),
                "{format:?} lacks {needle}: {text}"
            );
        }
        let fonts = run("pdffonts", &[path.to_str().unwrap()]);
        assert!(
            fonts.lines().skip(2).all(|l| l.contains(" yes ")),
            "every font is embedded: {fonts}"
        );
        let image = rasterise(&path, 300);
        assert_eq!(
            scan(&image),
            vec![
                "CODE-128:CT000000017PT".to_string(),
                format!("QR-Code:{}", data.qr_payload())
            ],
            "{format:?}"
        );
    }
}

/// The ZPL II commands a label may use, with how many parameters each takes at most.
const ZPL_COMMANDS: [(&str, usize); 13] = [
    ("XA", 0),
    ("XZ", 0),
    ("CI", 1),
    ("PW", 1),
    ("LL", 1),
    ("LH", 2),
    ("FO", 3),
    ("GB", 5),
    ("FR", 0),
    ("A0", 3),
    ("FH", 1),
    ("BY", 3),
    ("BC", 6),
];

#[test]
fn zpl_is_valid_zpl_ii_with_the_tracking_number_in_its_barcode() {
    let data = sample("CT000000017PT", false);
    let doc = label::render(&data, LabelFormat::Zpl).unwrap();
    let zpl = String::from_utf8(doc.bytes).unwrap();
    assert!(zpl.starts_with("^XA") && zpl.trim_end().ends_with("^XZ"));
    let mut barcode_data = None;
    let mut qr_data = None;
    let mut last = "";
    let mut width = 0i64;
    for command in zpl.split('^').skip(1) {
        let command = command.trim_end();
        let (name, args) = command.split_at(2.min(command.len()));
        match name {
            "FD" => {
                match last {
                    "BC" => barcode_data = Some(args.to_string()),
                    "BQ" => qr_data = Some(args.to_string()),
                    _ => {}
                }
                continue;
            }
            "FS" => {
                last = "";
                continue;
            }
            "FH" => continue,
            "BQ" => {
                assert_eq!(
                    args.split(',').collect::<Vec<_>>()[..2],
                    ["N", "2"],
                    "QR model 2, normal orientation"
                );
            }
            "PQ" => {
                assert_eq!(args, "1");
            }
            _ => {
                let (_, max) = ZPL_COMMANDS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("unknown command ^{name}"));
                let params: Vec<&str> = if args.is_empty() {
                    vec![]
                } else {
                    args.split(',').collect()
                };
                assert!(
                    params.len() <= *max,
                    "^{name} takes at most {max} parameters: {args}"
                );
                if name == "PW" {
                    width = params[0].parse().unwrap();
                }
                if name == "FO" {
                    let x: i64 = params[0].parse().unwrap();
                    let y: i64 = params[1].parse().unwrap();
                    assert!(
                        (0..width).contains(&x) && (0..1218).contains(&y),
                        "field inside the 4×6 label: {args}"
                    );
                }
                if matches!(name, "GB" | "A0" | "BY" | "BC" | "LL" | "CI") {
                    assert!(
                        params
                            .iter()
                            .take(3)
                            .all(|p| p.chars().all(|c| c.is_ascii_alphanumeric())),
                        "^{name}{args}"
                    );
                }
            }
        }
        last = name;
    }
    assert_eq!(width, 812, "4 in at 203 dpi");
    assert_eq!(
        barcode_data.as_deref(),
        Some(">:CT000000017PT"),
        "Code 128, subset B, the tracking number"
    );
    assert_eq!(qr_data, Some(format!("MA,{}", data.qr_payload())));
    assert!(zpl.contains("^CI28"), "UTF-8 field data");
    assert!(zpl.contains("Łódź") && zpl.contains("Иван Петров"));
}

#[test]
fn commercial_invoice_is_a_letter_pdf_with_items_totals_and_signature() {
    let dir = workdir("invoice");
    let data = InvoiceData {
        invoice_number: "INV-2026-0042".into(),
        date: "2026-11-23".into(),
        carrier: "Correio Expresso · Expresso 24h".into(),
        tracking_number: "CT000000017PT".into(),
        from: vec!["Łukasz Żółw".into(), "90-001 Łódź".into(), "Poland".into()],
        to: vec![
            "Иван Петров".into(),
            "01310-100 São Paulo".into(),
            "Brazil".into(),
        ],
        items: vec![
            InvoiceItem {
                description: "T-Shirt, cotton".into(),
                quantity: "2".into(),
                tariff_number: "6109.10".into(),
                origin_country: "PT".into(),
                net_weight: "400 g".into(),
                value: "40.00 EUR".into(),
            },
            InvoiceItem {
                description: "Poster".into(),
                quantity: "1".into(),
                tariff_number: "4911.91".into(),
                origin_country: "PL".into(),
                net_weight: "100 g".into(),
                value: "12.50 EUR".into(),
            },
        ],
        total_value: "52.50 EUR".into(),
        total_weight: "500 g".into(),
        terms: vec![
            ("Incoterm".into(), "DDU".into()),
            ("Contents".into(), "MERCHANDISE".into()),
        ],
        signer: "Łukasz Żółw".into(),
        test: false,
    };
    let doc = invoice::render(&data).unwrap();
    let path = dir.join("invoice.pdf");
    std::fs::write(&path, &doc.bytes).unwrap();
    let info = run("pdfinfo", &[path.to_str().unwrap()]);
    assert_eq!(field(&info, "Page size"), "612 x 792 pts (letter)");
    let text = run("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    for needle in [
        "Commercial Invoice",
        "INV-2026-0042",
        "T-Shirt, cotton",
        "6109.10",
        "40.00 EUR",
        "TOTAL 52.50 EUR",
        "DDU",
        "Signature — Łukasz Żółw",
        "Иван Петров",
    ] {
        assert!(text.contains(needle), "invoice lacks {needle}: {text}");
    }
    assert!(scan(&rasterise(&path, 200)).contains(&"CODE-128:CT000000017PT".to_string()));
}

#[test]
fn a_thousand_parcel_manifest_runs_over_pages_with_every_parcel_totals_and_two_signatures() {
    let dir = workdir("manifest");
    let rows: Vec<ManifestRow> = (0..1000)
        .map(|i| ManifestRow {
            tracking_number: format!("CT{:08}PT", i),
            city: "Lisboa".into(),
            postal_code: "1000-001".into(),
            country: "PT".into(),
            service: "Expresso 24h".into(),
            weight: "1.2 kg".into(),
        })
        .collect();
    let data = ManifestData {
        manifest_id: "0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4".into(),
        carrier: "Correio Expresso".into(),
        account: "CE-1234".into(),
        shipment_date: "2026-11-23".into(),
        from: vec!["Loja Exemplo".into(), "1000-001 Lisboa".into()],
        rows,
        total_weight: "1200 kg".into(),
        test: false,
    };
    let doc = manifest::render(&data).unwrap();
    let path = dir.join("manifest.pdf");
    std::fs::write(&path, &doc.bytes).unwrap();
    let info = run("pdfinfo", &[path.to_str().unwrap()]);
    let pages: usize = field(&info, "Pages").parse().unwrap();
    assert!(pages > 10, "{info}");
    let text = run("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    for i in [0, 1, 499, 999] {
        assert!(
            text.contains(&format!("CT{:08}PT", i)),
            "parcel {i} is listed"
        );
    }
    assert_eq!(text.matches("CT0").count(), 1000, "every parcel once");
    for needle in [
        "Total parcels: 1000",
        "Total weight: 1200 kg",
        "Merchant — name, signature and date",
        "Carrier — name, signature and date",
        "CE-1234",
        &format!("Page {pages} of {pages}"),
    ] {
        assert!(text.contains(needle), "manifest lacks {needle}");
    }
    assert!(scan(&rasterise(&path, 200))
        .contains(&"CODE-128:0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4".to_string()));
}
