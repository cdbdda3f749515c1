//! Links on the book's pages: every internal link must reach a page of the
//! built book and, when it names an anchor, an element with that id there.
//! External links are listed, never fetched (CI has no internet, and a site
//! that is down today is not the book's fault).

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

/// What a link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Another site (`https:`, `mailto:`, …): listed, not fetched.
    External(String),
    /// A file of the book, relative to its root, and maybe an anchor in it.
    Internal {
        /// The file, e.g. `lab-05-scaling.html`.
        file: PathBuf,
        /// The anchor after `#`, if any.
        anchor: Option<String>,
    },
    /// A link that leaves the book's folder through `..`.
    Outside(String),
}

/// Where `href`, found on the page `page` (relative to the book's root), leads.
pub fn resolve(page: &Path, href: &str) -> Target {
    if href.contains(':') && !href.starts_with('#') {
        let scheme = href.split(':').next().unwrap_or_default();
        if scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Target::External(href.to_string());
        }
    }
    let (path, anchor) = match href.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor.to_string()).filter(|a| !a.is_empty())),
        None => (href, None),
    };
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Target::Internal {
            file: page.to_path_buf(),
            anchor,
        };
    }
    let base = page.parent().unwrap_or(Path::new(""));
    let mut file = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::Normal(name) => file.push(name),
            Component::ParentDir => {
                if !file.pop() {
                    return Target::Outside(href.to_string());
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Target::Outside(href.to_string());
            }
            Component::CurDir => {}
        }
    }
    if path.ends_with('/') || file.as_os_str().is_empty() {
        file.push("index.html");
    }
    Target::Internal { file, anchor }
}

static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sid\s*=\s*"([^"]+)""#).expect("valid"));

/// The book's files, read once each, to check links against.
pub struct Book {
    root: PathBuf,
    ids: BTreeMap<PathBuf, Option<BTreeSet<String>>>,
}

impl Book {
    /// The built book in `root`.
    pub fn new(root: &Path) -> Book {
        Book {
            root: root.to_path_buf(),
            ids: BTreeMap::new(),
        }
    }

    /// What is wrong with `href` on `page`, if anything. `page_ids` are the
    /// ids the browser found on the page itself (some are made by scripts).
    pub fn problem(
        &mut self,
        page: &Path,
        href: &str,
        page_ids: &BTreeSet<String>,
    ) -> Option<String> {
        match resolve(page, href) {
            Target::External(_) => None,
            Target::Outside(href) => Some(format!("link {href:?} leads out of the book")),
            Target::Internal { file, anchor } => {
                let on_this_page = file == page;
                let Some(ids) = self.ids_of(&file) else {
                    return Some(format!("link {href:?}: no page {}", file.display()));
                };
                let anchor = anchor?;
                let found = ids.contains(&anchor) || (on_this_page && page_ids.contains(&anchor));
                (!found)
                    .then(|| format!("link {href:?}: {} has no anchor #{anchor}", file.display()))
            }
        }
    }

    /// The ids in a file of the book, or `None` if there is no such file.
    fn ids_of(&mut self, file: &Path) -> Option<&BTreeSet<String>> {
        let root = &self.root;
        self.ids
            .entry(file.to_path_buf())
            .or_insert_with(|| {
                let text = std::fs::read(root.join(file)).ok()?;
                let text = String::from_utf8_lossy(&text);
                Some(ID.captures_iter(&text).map(|c| c[1].to_string()).collect())
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(file: &str, anchor: Option<&str>) -> Target {
        Target::Internal {
            file: file.into(),
            anchor: anchor.map(String::from),
        }
    }

    #[test]
    fn links_resolve_as_a_browser_resolves_them() {
        let page = Path::new("lab-05-scaling.html");
        assert_eq!(
            resolve(page, "lab-06-pools.html#pools"),
            internal("lab-06-pools.html", Some("pools"))
        );
        assert_eq!(
            resolve(page, "#amdahl"),
            internal("lab-05-scaling.html", Some("amdahl"))
        );
        assert_eq!(resolve(page, "./"), internal("index.html", None));
        assert_eq!(
            resolve(Path::new("a/b.html"), "../c.html"),
            internal("c.html", None)
        );
        assert_eq!(
            resolve(page, "../../etc/passwd"),
            Target::Outside("../../etc/passwd".into())
        );
        assert_eq!(
            resolve(page, "https://docs.rs/nix"),
            Target::External("https://docs.rs/nix".into())
        );
    }

    #[test]
    fn a_missing_page_and_a_missing_anchor_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.html"), r#"<h2 id="here">x</h2>"#).unwrap();
        let mut book = Book::new(dir.path());
        let page = Path::new("a.html");
        let none = BTreeSet::new();
        assert_eq!(book.problem(page, "a.html#here", &none), None);
        assert_eq!(book.problem(page, "https://example.org/", &none), None);
        let missing_page = book.problem(page, "b.html", &none).unwrap();
        assert!(missing_page.contains("no page b.html"), "{missing_page}");
        let missing_anchor = book.problem(page, "a.html#there", &none).unwrap();
        assert!(
            missing_anchor.contains("no anchor #there"),
            "{missing_anchor}"
        );
        // An id a script made on this page counts for links on this page.
        let made = BTreeSet::from(["there".to_string()]);
        assert_eq!(book.problem(page, "#there", &made), None);
    }
}
