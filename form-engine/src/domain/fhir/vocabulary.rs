//! The names FHIR and SDC give to what the engine maps: extension URLs, item types, item
//! controls, languages, code systems, and the text forms of dates and times on both sides.

use std::fmt::Write as _;

/// SDC: a read-only item whose answer is computed (FHIRPath).
pub const CALCULATED_EXPRESSION: &str =
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";
/// The score of an answer option (R4).
pub const ORDINAL_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
/// The score of an answer option (R5's name; read on import).
pub const ITEM_WEIGHT: &str = "http://hl7.org/fhir/StructureDefinition/itemWeight";
/// The score of an answer option (the name before R4; read on import).
pub const CO_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value";
pub const ITEM_CONTROL: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl";
pub const ITEM_CONTROL_SYSTEM: &str = "http://hl7.org/fhir/questionnaire-item-control";
pub const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
pub const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
pub const REGEX: &str = "http://hl7.org/fhir/StructureDefinition/regex";
pub const UNIT: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit";
pub const ENTRY_FORMAT: &str = "http://hl7.org/fhir/StructureDefinition/entryFormat";
pub const DISPLAY_CATEGORY: &str =
    "http://hl7.org/fhir/StructureDefinition/questionnaire-displayCategory";

/// Extensions that only steer rendering or the extraction of Observations, neither of which
/// changes what is asked, who must answer or what is scored: read past without a finding
/// (docs/fhir.md lists them).
pub const IGNORED_EXTENSIONS: &[&str] = &[
    "http://hl7.org/fhir/StructureDefinition/questionnaire-optionPrefix",
    "http://hl7.org/fhir/StructureDefinition/rendering-style",
    "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    "http://hl7.org/fhir/StructureDefinition/rendering-markdown",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationLinkPeriod",
];

/// The engine's own extension: the fields of a template element that FHIR has no element
/// for, as a JSON object in `valueString` (docs/fhir.md). Read back on import, so a
/// template survives the way through a Questionnaire whole.
pub const ENGINE_FIELDS: &str = "urn:nordform:fhir:fields";
/// The identifier system of template ids.
pub const TEMPLATE_ID_SYSTEM: &str = "urn:nordform:templateId";
/// The canonical URL of an exported template: this, then the percent-encoded template id.
pub const CANONICAL_PREFIX: &str = "urn:nordform:questionnaire:";

/// Personnummer and samordningsnummer (Swedish national identifier OIDs).
pub const PERSONNUMMER_OID: &str = "1.2.752.129.2.1.3.1";
pub const SAMORDNINGSNUMMER_OID: &str = "1.2.752.129.2.1.3.3";

/// ISO 639-2 (the template's `language`) and the BCP 47 tags FHIR uses, for the languages
/// Swedish care meets most.
const LANGUAGES: &[(&str, &str)] = &[
    ("swe", "sv"),
    ("eng", "en"),
    ("nor", "no"),
    ("nob", "nb"),
    ("nno", "nn"),
    ("dan", "da"),
    ("fin", "fi"),
    ("isl", "is"),
    ("deu", "de"),
    ("ger", "de"),
    ("fra", "fr"),
    ("fre", "fr"),
    ("spa", "es"),
    ("ita", "it"),
    ("nld", "nl"),
    ("pol", "pl"),
    ("ara", "ar"),
    ("fas", "fa"),
    ("per", "fa"),
    ("som", "so"),
    ("tir", "ti"),
    ("tur", "tr"),
    ("rus", "ru"),
    ("ukr", "uk"),
    ("smi", "se"),
    ("sme", "se"),
];

/// The FHIR language tag of a template language.
pub fn bcp47(iso639_2: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|(three, _)| *three == iso639_2)
        .map(|(_, two)| *two)
}

/// The template language of a FHIR language tag (`sv`, `sv-SE`, `en-GB`).
pub fn iso639_2(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .find(|(_, two)| two.eq_ignore_ascii_case(primary))
        .map(|(three, _)| *three)
}

/// Code systems FHIR names by URL and Swedish templates by OID.
const SYSTEMS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.6.1", "http://loinc.org"),
    ("2.16.840.1.113883.6.96", "http://snomed.info/sct"),
    ("2.16.840.1.113883.6.8", "http://unitsofmeasure.org"),
];

/// A template code system as a FHIR system URI: LOINC and SNOMED CT by their URLs, another
/// OID as `urn:oid:...`.
pub fn system_uri(code_system: &str) -> String {
    if let Some((_, url)) = SYSTEMS.iter().find(|(oid, _)| *oid == code_system) {
        return (*url).to_owned();
    }
    if !code_system.is_empty() && code_system.chars().all(|c| c.is_ascii_digit() || c == '.') {
        format!("urn:oid:{code_system}")
    } else {
        code_system.to_owned()
    }
}

/// A FHIR system URI as a template code system: the OID where it has one.
pub fn code_system(uri: &str) -> String {
    if let Some((oid, _)) = SYSTEMS.iter().find(|(_, url)| *url == uri) {
        return (*oid).to_owned();
    }
    uri.strip_prefix("urn:oid:").unwrap_or(uri).to_owned()
}

/// `YYYYMMDD` → `YYYY-MM-DD`, `YYYYMM` → `YYYY-MM` (FHIR's partial date).
pub fn fhir_date(engine: &str) -> Option<String> {
    let digits = engine.bytes().all(|b| b.is_ascii_digit());
    match engine.len() {
        8 if digits => Some(format!(
            "{}-{}-{}",
            &engine[..4],
            &engine[4..6],
            &engine[6..]
        )),
        6 if digits => Some(format!("{}-{}", &engine[..4], &engine[4..])),
        _ => None,
    }
}

/// `YYYY-MM-DD` → `YYYYMMDD`, `YYYY-MM` → `YYYYMM`.
pub fn engine_date(fhir: &str) -> Option<String> {
    let compact: String = fhir.chars().filter(|c| *c != '-').collect();
    let shape_ok = matches!((fhir.len(), compact.len()), (10, 8) | (7, 6));
    (shape_ok && compact.bytes().all(|b| b.is_ascii_digit())).then_some(compact)
}

/// `hh:mm` → `hh:mm:00`.
pub fn fhir_time(engine: &str) -> Option<String> {
    (engine.len() == 5).then(|| format!("{engine}:00"))
}

/// `hh:mm:ss` → `hh:mm` when the seconds are zero (the engine's times have minutes).
pub fn engine_time(fhir: &str) -> Option<String> {
    match fhir.len() {
        5 => Some(fhir.to_owned()),
        8 if fhir.ends_with(":00") => Some(fhir[..5].to_owned()),
        _ => None,
    }
}

/// Percent-encodes what a URN may not carry bare (RFC 8141 allows unreserved characters and
/// a few sub-delimiters).
pub fn urn_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Whether `text` is a FHIR resource id: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_resource_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
