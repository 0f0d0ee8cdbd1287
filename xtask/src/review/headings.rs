//! Our own words in the comments, in the configured language, from `templates/review/headings.toml`.

use std::collections::BTreeMap;

use super::prompt::template;

#[derive(Debug, Clone)]
pub struct Headings {
    words: BTreeMap<String, String>,
}

impl Headings {
    /// The table for a BCP 47 tag (`ja-JP` -> `ja`), English for languages without one. Keys
    /// missing in a language fall back to English.
    pub fn for_language(tag: &str) -> Result<Headings, String> {
        let text = template("headings.toml")?;
        let mut table: BTreeMap<String, BTreeMap<String, String>> = toml::from_str(text)
            .map_err(|error| format!("templates/review/headings.toml: {error}"))?;
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or(tag)
            .to_ascii_lowercase();
        let mut words = table
            .remove("en")
            .ok_or("templates/review/headings.toml has no [en] table")?;
        if let Some(localized) = table.remove(&primary) {
            words.extend(localized);
        }
        Ok(Headings { words })
    }

    /// The word for `key`; the key itself when the table lacks it (visible, never a panic).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.words.get(key).map_or(key, String::as_str)
    }

    /// The word for `key` with `{name}` placeholders filled.
    pub fn fill(&self, key: &str, values: &[(&str, String)]) -> String {
        let mut text = self.get(key).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_and_fallback() {
        let ja = Headings::for_language("ja-JP").unwrap();
        assert_eq!(ja.get("review_title"), "PR レビュー");
        let xx = Headings::for_language("xx").unwrap();
        assert_eq!(xx.get("review_title"), "PR review");
        let en = Headings::for_language("en-US").unwrap();
        // Every Japanese key exists in English, so nothing falls back to a raw key.
        let ja_text: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(template("headings.toml").unwrap()).unwrap();
        for key in ja_text["ja"].keys() {
            assert_ne!(en.get(key), key.as_str(), "{key} missing in [en]");
        }
        for key in ja_text["en"].keys() {
            assert!(ja_text["ja"].contains_key(key), "{key} missing in [ja]");
        }
    }
}
