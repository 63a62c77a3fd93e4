//! Merging documents into one file: PDFs page after page (any PDF, also labels an upstream
//! provider made), ZPL II label after label.

use std::collections::BTreeMap;

use lopdf::{Document as Pdf, Object, ObjectId};

/// Why files could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("file {0} is not a readable PDF: {1}")]
    Unreadable(usize, String),
    #[error("the merged PDF could not be written: {0}")]
    Write(String),
}

/// One PDF holding every page of `files`, in order.
pub fn pdfs(files: &[Vec<u8>]) -> Result<Vec<u8>, MergeError> {
    let mut max_id = 1;
    let mut pages: Vec<(ObjectId, Object)> = Vec::new();
    let mut objects: BTreeMap<ObjectId, Object> = BTreeMap::new();
    for (i, bytes) in files.iter().enumerate() {
        let mut doc = Pdf::load_mem(bytes).map_err(|e| MergeError::Unreadable(i, e.to_string()))?;
        doc.renumber_objects_with(max_id);
        max_id = doc.max_id + 1;
        for (_, id) in doc.get_pages() {
            let page = doc
                .get_object(id)
                .map_err(|e| MergeError::Unreadable(i, e.to_string()))?
                .to_owned();
            pages.push((id, page));
        }
        objects.extend(doc.objects);
    }
    let mut out = Pdf::with_version("1.7");
    let mut catalog: Option<(ObjectId, Object)> = None;
    let mut tree: Option<(ObjectId, Object)> = None;
    for (id, object) in objects {
        match object.type_name().unwrap_or(b"") {
            b"Catalog" => {
                catalog.get_or_insert((id, object));
            }
            b"Pages" => {
                if let Ok(dict) = object.as_dict() {
                    let mut dict = dict.clone();
                    if let Some((_, Object::Dictionary(old))) = &tree {
                        dict.extend(old);
                    }
                    tree = Some((tree.as_ref().map_or(id, |t| t.0), Object::Dictionary(dict)));
                }
            }
            b"Page" | b"Outlines" | b"Outline" => {}
            _ => {
                out.objects.insert(id, object);
            }
        }
    }
    let (Some((catalog_id, catalog)), Some((tree_id, tree))) = (catalog, tree) else {
        return Err(MergeError::Write("no page tree".into()));
    };
    for (id, page) in &pages {
        if let Ok(dict) = page.as_dict() {
            let mut dict = dict.clone();
            dict.set("Parent", tree_id);
            out.objects.insert(*id, Object::Dictionary(dict));
        }
    }
    if let Ok(dict) = tree.as_dict() {
        let mut dict = dict.clone();
        dict.set("Count", pages.len() as u32);
        dict.set(
            "Kids",
            pages
                .iter()
                .map(|(id, _)| Object::Reference(*id))
                .collect::<Vec<_>>(),
        );
        out.objects.insert(tree_id, Object::Dictionary(dict));
    }
    if let Ok(dict) = catalog.as_dict() {
        let mut dict = dict.clone();
        dict.set("Pages", tree_id);
        dict.remove(b"Outlines");
        out.objects.insert(catalog_id, Object::Dictionary(dict));
    }
    out.trailer.set("Root", catalog_id);
    out.max_id = out.objects.len() as u32;
    out.renumber_objects();
    let mut bytes = Vec::new();
    out.save_to(&mut bytes)
        .map_err(|e| MergeError::Write(e.to_string()))?;
    Ok(bytes)
}

/// ZPL II labels one after the other (each `^XA…^XZ` prints as its own label).
pub fn zpl(files: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in files {
        out.extend_from_slice(f);
        if !f.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drawing::Page;
    use crate::fonts::Weight;

    fn one(text: &str) -> Vec<u8> {
        let mut p = Page::new(288.0, 432.0);
        p.text(20.0, 40.0, 14.0, Weight::Bold, text, 250.0);
        crate::pdf::render(&[p], text)
    }

    #[test]
    fn merged_pdfs_keep_every_page_in_order() {
        let files = [one("FIRST LABEL"), one("SECOND LABEL"), one("THIRD LABEL")];
        let merged = pdfs(&files).unwrap();
        let doc = Pdf::load_mem(&merged).unwrap();
        let pages = doc.get_pages();
        assert_eq!(pages.len(), 3);
        // Each merged page draws what its file's page drew (the content streams are equal).
        for (i, file) in files.iter().enumerate() {
            let original = Pdf::load_mem(file).unwrap();
            let (_, first) = original.get_pages().into_iter().next().unwrap();
            let want = original.get_page_content(first);
            let got = doc.get_page_content(pages[&(i as u32 + 1)]);
            assert_eq!(got, want, "page {}", i + 1);
        }
        assert_ne!(
            doc.get_page_content(pages[&1]),
            doc.get_page_content(pages[&2])
        );
    }

    #[test]
    fn a_file_that_is_no_pdf_is_named() {
        let err = pdfs(&[one("A"), b"not a pdf".to_vec()]).unwrap_err();
        assert!(err.to_string().contains("file 1"), "{err}");
    }
}
