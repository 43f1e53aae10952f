//! The parser against a file in exactly the format `SELECT * FROM engagement_index_table INTO
//! OUTFILE ... FIELDS TERMINATED BY '\t' OPTIONALLY ENCLOSED BY '"'` writes.

use super::*;
use common::riv_time::ei_timestamp_to_utc;
use serde_json::json;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/engagement_index_table.tsv"
);

fn rows() -> Vec<Result<Row, TsvError>> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    TsvReader::new(std::io::BufReader::new(file)).collect()
}

fn record(line: u64) -> Result<Value, String> {
    let row = rows()
        .into_iter()
        .filter_map(Result::ok)
        .find(|r| r.line == line)
        .expect("a row on that line");
    engagement(&row)
}

#[test]
fn a_plain_row_becomes_the_engagement_findcontent_answers() {
    assert_eq!(
        record(1).unwrap(),
        json!({
            "registeredResidentIdentification": "191212121212",
            "serviceDomain": "riv:crm:scheduling",
            "categorization": "booking",
            "logicalAddress": "SE2321000016-1HZ3",
            "businessObjectInstanceIdentifier": "booking-4711",
            "clinicalProcessInterestId": "NA",
            "sourceSystem": "SE2321000016-BK01",
            "dataController": "SE2321000016-1HZ3",
            "owner": "SE0000000001-EI01",
            "mostRecentContent": "20240115120000",
            "creationTime": "20240115120003",
            "updateTime": "20240116083000"
        })
    );
}

#[test]
fn null_as_backslash_n_and_as_the_word_leave_the_field_out() {
    for line in [2, 3] {
        let record = record(line).unwrap();
        assert!(record.get("mostRecentContent").is_none(), "line {line}");
        assert!(record.get("updateTime").is_none(), "line {line}");
        assert_eq!(record["creationTime"], "20240201090000");
    }
    // A NULL key field is left out too, for the index to refuse with the contract's reason.
    let row = rows().into_iter().filter_map(Result::ok).last().unwrap();
    assert_eq!(row.fields[1], None);
    assert!(
        engagement(&row)
            .unwrap()
            .get("businessObjectInstanceIdentifier")
            .is_none()
    );
}

#[test]
fn escapes_quotes_tabs_and_a_newline_inside_an_enclosed_field() {
    let rows = rows();
    let row = rows[3].as_ref().unwrap();
    assert_eq!(row.line, 4);
    assert_eq!(
        row.fields[1].as_deref(),
        Some("quote \" backslash \\ tab\there escaped\ttab\nnew line")
    );
    // The record spanning two lines does not shift the next one.
    assert_eq!(rows[4].as_ref().unwrap().line, 6);
    assert_eq!(rows[4].as_ref().unwrap().fields[0].as_deref(), Some("a5"));
}

#[test]
fn swedish_local_times_across_the_spring_change() {
    let record = record(4).unwrap();
    // 01:59:59 is still winter time (UTC+1), 03:00:00 already summer time (UTC+2): one
    // second apart.
    let before = ei_timestamp_to_utc(record["creationTime"].as_str().unwrap()).unwrap();
    let after = ei_timestamp_to_utc(record["mostRecentContent"].as_str().unwrap()).unwrap();
    assert_eq!(before.to_rfc3339(), "2024-03-31T00:59:59+00:00");
    assert_eq!((after - before).num_seconds(), 1);
    // 02:30 does not exist that night: read as summer time, as the index reads it.
    assert_eq!(record["updateTime"], "20240331033000");
}

#[test]
fn swedish_local_times_across_the_autumn_change() {
    let record = record(6).unwrap();
    // 02:30 occurs twice; the earlier (summer time, UTC+2) is taken.
    let twice = ei_timestamp_to_utc(record["creationTime"].as_str().unwrap()).unwrap();
    assert_eq!(twice.to_rfc3339(), "2024-10-27T00:30:00+00:00");
    assert_eq!(record["creationTime"], "20241027023000");
    let before = ei_timestamp_to_utc(record["mostRecentContent"].as_str().unwrap()).unwrap();
    let after = ei_timestamp_to_utc(record["updateTime"].as_str().unwrap()).unwrap();
    // 01:59:59 summer time to 03:00:00 winter time: the hour 02–03 passes twice.
    assert_eq!((after - before).num_seconds(), 2 * 3600 + 1);
}

#[test]
fn a_short_row_and_a_bad_datetime_are_refused_naming_the_problem() {
    let short = record(7).unwrap_err();
    assert!(
        short.starts_with("5 fields, the engagement table has 13"),
        "{short}"
    );
    let bad = record(8).unwrap_err();
    assert!(
        bad.contains("creation_time") && bad.contains("2024-13-01 00:00:00"),
        "{bad}"
    );
}

#[test]
fn reader_edge_cases() {
    let parse = |text: &str| -> Vec<Result<Row, TsvError>> {
        TsvReader::new(std::io::Cursor::new(text.as_bytes().to_vec())).collect()
    };
    // No newline at the end, CRLF line ends, empty lines between rows, a doubled quote.
    let rows = parse("\"a\"\"b\"\t1\r\n\n\"c\"\t\\N");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].as_ref().unwrap().fields,
        vec![Some("a\"b".to_owned()), Some("1".to_owned())]
    );
    assert_eq!(rows[1].as_ref().unwrap().line, 3);
    assert_eq!(rows[1].as_ref().unwrap().fields[1], None);
    // An unenclosed escaped newline, and `\0`.
    let rows = parse("x\\\ny\t\\0\n");
    assert_eq!(
        rows[0].as_ref().unwrap().fields,
        vec![Some("x\ny".to_owned()), Some("\0".to_owned())]
    );
    // A quoted "NULL" is the text, not NULL.
    let rows = parse("\"NULL\"\tNULL\n");
    assert_eq!(
        rows[0].as_ref().unwrap().fields,
        vec![Some("NULL".to_owned()), None]
    );
    // An enclosed field never closed.
    let rows = parse("\"open\tfield\n");
    assert!(matches!(rows[0], Err(TsvError::Malformed { line: 1, .. })));
    // A quote not before a tab or the line's end is part of the value (a file written with
    // `ESCAPED BY ''`).
    let rows = parse("\"say \"hi\" now\"\t1\n");
    assert_eq!(
        rows[0].as_ref().unwrap().fields[0].as_deref(),
        Some("say \"hi\" now")
    );
    // A header line is recognised.
    let header = COLUMNS.join("\t");
    let rows = parse(&format!("{header}\n"));
    assert!(is_header(rows[0].as_ref().unwrap()));
}
