//! skltp-ei's engagement table as MySQL writes it with
//! `SELECT * FROM engagement_index_table INTO OUTFILE ... FIELDS TERMINATED BY '\t'
//! OPTIONALLY ENCLOSED BY '"'` (the default `ESCAPED BY '\\'`, `LINES TERMINATED BY '\n'`).
//!
//! What MySQL writes, and so what is read here: string columns enclosed in `"`, with `\"` (or
//! `""`) for a quote and `\\` for a backslash inside; tab and newline inside an enclosed field
//! written as they are (a record may span lines) or escaped as `\t`, `\n`; `\0`, `\b`, `\r`,
//! `\Z` escapes (a quote ends an enclosed field only before a tab or the line's end, as
//! `LOAD DATA` reads it); NULL as an unenclosed `\N` (or `NULL` when the file was written without an
//! escape character); datetimes `YYYY-MM-DD hh:mm:ss` in Swedish local time, unenclosed.
//! The columns are those of skltp-ei's `doc/db-schema/create-table-mysql.sql`, in its order.

use std::io::BufRead;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// The columns of `engagement_index_table`, in the order `SELECT *` writes them.
pub const COLUMNS: [&str; 13] = [
    "id",
    "business_object_instance_id",
    "categorization",
    "clinical_process_interest_id",
    "creation_time",
    "data_controller",
    "logical_address",
    "most_recent_content",
    "owner",
    "registered_resident_id",
    "service_domain",
    "source_system",
    "update_time",
];

/// One row: the physical line it starts on (1-based) and its fields (`None` for NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub fields: Vec<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TsvError {
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads rows one at a time: memory stays that of one row whatever the file's size.
pub struct TsvReader<R> {
    input: R,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> TsvReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            buffer: Vec::new(),
        }
    }

    /// Reads one physical line onto the buffer; false at the end of the input.
    fn more(&mut self) -> std::io::Result<bool> {
        let read = self.input.read_until(b'\n', &mut self.buffer)?;
        if read > 0 {
            self.line += 1;
        }
        Ok(read > 0)
    }

    /// The next row, `None` at the end of the file. A malformed row is an error that names its
    /// line; reading goes on with the next row after it.
    pub fn next_row(&mut self) -> Option<Result<Row, TsvError>> {
        self.buffer.clear();
        loop {
            match self.more() {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(e.into())),
            }
            // An empty line between rows is no row.
            if self.buffer.iter().all(|b| matches!(b, b'\n' | b'\r')) {
                self.buffer.clear();
                continue;
            }
            break;
        }
        let start = self.line;
        loop {
            match parse_record(&self.buffer) {
                Parsed::Done(fields) => {
                    return Some(
                        fields
                            .map(|fields| Row {
                                line: start,
                                fields,
                            })
                            .map_err(|message| TsvError::Malformed {
                                line: start,
                                message,
                            }),
                    );
                }
                Parsed::NeedMore => match self.more() {
                    Ok(true) => {}
                    Ok(false) => {
                        return Some(Err(TsvError::Malformed {
                            line: start,
                            message: String::from(
                                "the file ends inside an enclosed (\"...\") field",
                            ),
                        }));
                    }
                    Err(e) => return Some(Err(e.into())),
                },
            }
        }
    }
}

impl<R: BufRead> Iterator for TsvReader<R> {
    type Item = Result<Row, TsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

enum Parsed {
    Done(Result<Vec<Option<String>>, String>),
    /// The record goes on past this line (a newline inside an enclosed field).
    NeedMore,
}

fn unescape(byte: u8) -> u8 {
    match byte {
        b'0' => 0,
        b'b' => 0x08,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 0x1a,
        other => other,
    }
}

/// Splits one record (one or more physical lines, the last ending in `\n` or the file's end).
fn parse_record(bytes: &[u8]) -> Parsed {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        // One field from `i`.
        let mut value = Vec::new();
        let mut null = false;
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return Parsed::NeedMore,
                    Some(b'\\') => match bytes.get(i + 1) {
                        None => return Parsed::NeedMore,
                        Some(&escaped) => {
                            value.push(unescape(escaped));
                            i += 2;
                        }
                    },
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => {
                        value.push(b'"');
                        i += 2;
                    }
                    // As LOAD DATA reads it: a quote ends the field only before a tab or the
                    // line's end; elsewhere it is part of the value.
                    Some(b'"')
                        if matches!(bytes.get(i + 1), None | Some(b'\t' | b'\n'))
                            || (bytes.get(i + 1) == Some(&b'\r')
                                && matches!(bytes.get(i + 2), None | Some(b'\n'))) =>
                    {
                        i += 1;
                        break;
                    }
                    Some(&byte) => {
                        value.push(byte);
                        i += 1;
                    }
                }
            }
        } else {
            let start = i;
            loop {
                match bytes.get(i) {
                    None | Some(b'\t' | b'\n') => break,
                    Some(b'\r') if matches!(bytes.get(i + 1), None | Some(b'\n')) => break,
                    Some(b'\\') => match bytes.get(i + 1) {
                        // An escaped line end: the field goes on on the next line.
                        None => return Parsed::NeedMore,
                        Some(b'N') if i == start => {
                            null = true;
                            i += 2;
                        }
                        // The record goes on past this escaped line end.
                        Some(b'\n') if i + 2 >= bytes.len() => return Parsed::NeedMore,
                        Some(&escaped) => {
                            value.push(unescape(escaped));
                            i += 2;
                        }
                    },
                    Some(&byte) => {
                        value.push(byte);
                        i += 1;
                    }
                }
            }
            if null && i != start + 2 {
                return Parsed::Done(Err(format!(
                    "field {} starts with \\N but goes on",
                    fields.len() + 1
                )));
            }
            // Written without an escape character, MySQL writes NULL as the word.
            if &bytes[start..i] == b"NULL" {
                null = true;
            }
        }
        let field = if null {
            None
        } else {
            match String::from_utf8(value) {
                Ok(text) => Some(text),
                Err(_) => {
                    return Parsed::Done(Err(format!(
                        "field {} is not UTF-8 (export with CHARACTER SET utf8mb4)",
                        fields.len() + 1
                    )));
                }
            }
        };
        fields.push(field);
        match bytes.get(i) {
            Some(b'\t') => i += 1,
            _ => return Parsed::Done(Ok(fields)),
        }
    }
}

/// A datetime of the table, `YYYY-MM-DD hh:mm:ss` (fractions of a second, if the column has
/// them, are dropped), Swedish local time, as the engagement index's `YYYYMMDDhhmmss`. It goes
/// through UTC as the index keeps it: an autumn time that occurs twice is the earlier one, a
/// time in the spring gap reads as summer time (common::riv_time's rules, so the source's digest
/// is what the index will compute).
pub fn riv_timestamp(value: &str) -> Result<String, String> {
    let whole = value.split('.').next().unwrap_or(value);
    let local = NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S")
        .ok()
        .filter(|_| whole.len() == 19)
        .ok_or_else(|| format!("\"{value}\" is not a datetime YYYY-MM-DD hh:mm:ss"))?;
    let instant = common::riv_time::stockholm_to_utc(local);
    Ok(common::riv_time::format_ei_timestamp(instant))
}

/// A row as the engagement record of the export format (the engagement as FindContent answers
/// it). skltp-ei's `id` (a hash of the key) is not carried over: the index derives its own.
pub fn engagement(row: &Row) -> Result<Value, String> {
    if row.fields.len() != COLUMNS.len() {
        return Err(format!(
            "{} fields, the engagement table has {} ({})",
            row.fields.len(),
            COLUMNS.len(),
            COLUMNS.join(", ")
        ));
    }
    let column = |name: &str| {
        let index = COLUMNS.iter().position(|c| *c == name).expect("a column");
        row.fields[index].as_deref()
    };
    let mut record = Map::new();
    let texts = [
        ("registeredResidentIdentification", "registered_resident_id"),
        ("serviceDomain", "service_domain"),
        ("categorization", "categorization"),
        ("logicalAddress", "logical_address"),
        (
            "businessObjectInstanceIdentifier",
            "business_object_instance_id",
        ),
        ("clinicalProcessInterestId", "clinical_process_interest_id"),
        ("sourceSystem", "source_system"),
        ("dataController", "data_controller"),
        ("owner", "owner"),
    ];
    // A NULL key field is left out: the index refuses the record with the contract's reason.
    for (field, name) in texts {
        if let Some(value) = column(name) {
            record.insert(field.to_owned(), Value::String(value.to_owned()));
        }
    }
    let times = [
        ("mostRecentContent", "most_recent_content"),
        ("creationTime", "creation_time"),
        ("updateTime", "update_time"),
    ];
    for (field, name) in times {
        if let Some(value) = column(name) {
            let riv = riv_timestamp(value).map_err(|e| format!("{name}: {e}"))?;
            record.insert(field.to_owned(), Value::String(riv));
        }
    }
    Ok(Value::Object(record))
}

/// True for a header line some tools add (`id`, `business_object_instance_id`, ...).
pub fn is_header(row: &Row) -> bool {
    row.fields.len() == COLUMNS.len()
        && row
            .fields
            .iter()
            .zip(COLUMNS)
            .all(|(field, column)| field.as_deref() == Some(column))
}

#[cfg(test)]
#[path = "tsv_tests.rs"]
mod tests;
