//! The published schemas of the requests, written out because they state what validation
//! enforces (api.md §5), which the Rust types cannot: the types keep every field optional so
//! that a missing one reaches the validator and is refused with its EI code and name, while
//! the document says it is required. Each rule here is one the validator applies; a rule
//! OpenAPI cannot state is in the operation's description.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::{FindContentRequest, GetUpdatesRequest, ProcessNotificationRequest, UpdateRequest};
use crate::domain::MAX_TRANSACTIONS;

/// A time `YYYYMMDDhhmmss` that exists in the calendar: the year starts with 1-9 (the XSD's
/// `TS`), months have their days, 29 February only in leap years, no leap second.
const TIMESTAMP: &str = concat!(
    "(?:[1-9][0-9]{3}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)0229)",
    "(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
);

/// A personal identity number (api.md §1).
const RESIDENT: &str = "[0-9]{8}[0-9A-Zptf]{4}";

/// An engagement key field: not empty, no control character, no space at either end unless
/// it is all spaces (skltp accepts that).
const KEY_FIELD: &str =
    r"^(?: +|[^\u0000-\u0020\u007F](?:[^\u0000-\u001F\u007F]*[^\u0000-\u0020\u007F])?)$";

/// Not blank (empty or spaces only) and no control character.
const NOT_BLANK: &str = r"^ *[^\u0000-\u0020\u007F][^\u0000-\u001F\u007F]*$";

/// No control character.
const CLEAN: &str = r"^[^\u0000-\u001F\u007F]*$";

fn exactly(pattern: &str) -> String {
    format!("^{pattern}$")
}

fn empty_or(pattern: &str) -> String {
    format!("^(?:{pattern})?$")
}

/// A schema from its JSON form; the unit tests check that nothing is lost on the way.
fn schema(value: &Value) -> RefOr<Schema> {
    serde_json::from_value(value.clone()).expect("a valid schema")
}

fn key_field(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": KEY_FIELD,
        "description": description})
}

fn optional_time(description: &str) -> Value {
    json!({"type": ["string", "null"], "maxLength": 14, "pattern": empty_or(TIMESTAMP),
        "description": description})
}

fn required_time(description: &str) -> Value {
    json!({"type": "string", "minLength": 14, "maxLength": 14, "pattern": exactly(TIMESTAMP),
        "description": description})
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Contract {
    Update,
    ProcessNotification,
}

impl Contract {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Update => ("UpdateTransaction", "UpdateEngagement"),
            Self::ProcessNotification => (
                "ProcessNotificationTransaction",
                "ProcessNotificationEngagement",
            ),
        }
    }
}

fn engagement_json(contract: Contract) -> Value {
    let mut properties = json!({
        "registeredResidentIdentification": {"type": "string", "minLength": 12, "maxLength": 12,
            "pattern": exactly(RESIDENT), "example": "191212121212",
            "description": "The resident's personal identity number. Part of the unique key."},
        "serviceDomain": key_field(255, "The service domain of the information, e.g. `riv:crm:scheduling`. Part of the key."),
        "categorization": key_field(255, "The kind of information within the domain. Part of the key; `NA` when not used."),
        "logicalAddress": key_field(64, "Where the information can be fetched: the producing system's logical address. Part of the key; this index's reserved HSA-ids are refused (EI005)."),
        "businessObjectInstanceIdentifier": key_field(128, "The id of the information object at the source. Part of the key; `NA` when not used."),
        "clinicalProcessInterestId": key_field(128, "The clinical process of interest. Part of the key; `NA` when not used."),
        "mostRecentContent": optional_time("When the newest content behind the engagement was made, Swedish local time; empty = absent. An Update older than the stored post is ignored."),
        "sourceSystem": key_field(64, "The HSA-id of the system that posts the engagement. Part of the key; this index's reserved HSA-ids are refused (EI006)."),
        "dataController": key_field(64, "The organisation number or HSA-id of the data controller. Part of the key."),
    });
    let members = properties.as_object_mut().expect("an object");
    let mut required: Vec<&str> = vec![
        "registeredResidentIdentification",
        "serviceDomain",
        "categorization",
        "logicalAddress",
        "businessObjectInstanceIdentifier",
        "clinicalProcessInterestId",
        "sourceSystem",
        "dataController",
    ];
    match contract {
        Contract::Update => {
            members.insert(
                "creationTime".into(),
                optional_time(
                    "Ignored (this index sets it), but checked as a time; empty = absent.",
                ),
            );
            members.insert(
                "updateTime".into(),
                optional_time(
                    "Ignored (this index sets it), but checked as a time; empty = absent.",
                ),
            );
            members.insert(
                "owner".into(),
                json!({"type": ["string", "null"], "maxLength": 64,
                "pattern": CLEAN, "description": "Ignored: this index becomes the owner."}),
            );
        }
        Contract::ProcessNotification => {
            members.insert(
                "creationTime".into(),
                required_time("When the post was created, Swedish local time; stored as received."),
            );
            members.insert(
                "updateTime".into(),
                required_time(
                    "When the post last changed, Swedish local time; stored as received.",
                ),
            );
            members.insert("owner".into(), json!({"type": "string", "minLength": 1, "maxLength": 64,
                "pattern": KEY_FIELD, "example": "SE2321000016-EI01",
                "description": "The HSA-id of the index that first received the engagement. Part of the key; a post owned by this index is dropped (loop guard)."}));
            required.extend(["owner", "creationTime", "updateTime"]);
        }
    }
    let mut example = json!({
        "registeredResidentIdentification": "191212121212",
        "serviceDomain": "riv:crm:scheduling",
        "categorization": "booking",
        "logicalAddress": "SE2321000016-1HZ3",
        "businessObjectInstanceIdentifier": "booking-4711",
        "clinicalProcessInterestId": "NA",
        "mostRecentContent": "20240115120000",
        "sourceSystem": "SE2321000016-BK01",
        "dataController": "SE2321000016-1HZ3"
    });
    if contract == Contract::ProcessNotification {
        let object = example.as_object_mut().expect("an object");
        object.insert("creationTime".into(), json!("20240115120003"));
        object.insert("updateTime".into(), json!("20240115120003"));
        object.insert("owner".into(), json!("SE2321000016-EI01"));
    }
    let description = match contract {
        Contract::Update => {
            "An engagement as a source system sends it. No field carries a control character (EI004)."
        }
        Contract::ProcessNotification => {
            "An engagement as a federated index sends it: as in Update, with owner, creationTime and updateTime mandatory. No field carries a control character (EI004)."
        }
    };
    json!({"type": "object", "description": description, "required": required,
        "properties": properties, "example": example})
}

fn transaction_json(contract: Contract) -> Value {
    let (_, engagement) = contract.names();
    json!({"type": "object", "required": ["deleteFlag", "engagement"], "properties": {
        "deleteFlag": {"type": "boolean",
            "description": "`true` deletes the engagement with this key; `false` creates or updates it."},
        "engagement": {"$ref": format!("#/components/schemas/{engagement}")}
    }})
}

fn request_json(contract: Contract) -> Value {
    let (transaction, _) = contract.names();
    json!({"type": "object", "required": ["engagementTransaction"], "properties": {
        "engagementTransaction": {"type": "array", "minItems": 1, "maxItems": MAX_TRANSACTIONS,
            "uniqueItems": true,
            "description": "1 to 1000 changes (else EI000), no two with the same key (EI002): the nine key fields, with an empty categorization, businessObjectInstanceIdentifier or clinicalProcessInterestId counting as `NA`.",
            "items": {"$ref": format!("#/components/schemas/{transaction}")}}
    }})
}

fn push_dependencies(contract: Contract, schemas: &mut Vec<(String, RefOr<Schema>)>) {
    let (transaction, engagement) = contract.names();
    schemas.push((transaction.to_owned(), schema(&transaction_json(contract))));
    schemas.push((engagement.to_owned(), schema(&engagement_json(contract))));
}

impl PartialSchema for UpdateRequest {
    fn schema() -> RefOr<Schema> {
        let mut value = request_json(Contract::Update);
        value["example"] = json!({"engagementTransaction": [{"deleteFlag": false,
            "engagement": engagement_json(Contract::Update)["example"]}]});
        schema(&value)
    }
}

impl ToSchema for UpdateRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UpdateRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push_dependencies(Contract::Update, schemas);
    }
}

impl PartialSchema for ProcessNotificationRequest {
    fn schema() -> RefOr<Schema> {
        let mut value = request_json(Contract::ProcessNotification);
        value["example"] = json!({"engagementTransaction": [{"deleteFlag": false,
            "engagement": engagement_json(Contract::ProcessNotification)["example"]}]});
        schema(&value)
    }
}

impl ToSchema for ProcessNotificationRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProcessNotificationRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push_dependencies(Contract::ProcessNotification, schemas);
    }
}

fn filter(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max, "pattern": CLEAN})
}

impl PartialSchema for FindContentRequest {
    fn schema() -> RefOr<Schema> {
        schema(&json!({"type": "object",
            "description": "Resident and domain are mandatory (EI000); every other field is an exact-match filter, except mostRecentContent, which matches posts at or after it. No field carries a control character or is longer than its engagement field (EI004).",
            "required": ["registeredResidentIdentification", "serviceDomain"],
            "properties": {
                "registeredResidentIdentification": {"type": "string", "minLength": 12, "maxLength": 12,
                    "pattern": exactly(RESIDENT), "example": "191212121212"},
                "serviceDomain": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK,
                    "example": "riv:crm:scheduling"},
                "categorization": filter(255),
                "logicalAddress": filter(64),
                "businessObjectInstanceIdentifier": filter(128),
                "clinicalProcessInterestId": filter(128),
                "mostRecentContent": {"type": ["string", "null"], "maxLength": 14, "pattern": empty_or(TIMESTAMP),
                    "description": "Only posts whose mostRecentContent is at or after this time (posts without one do not match); empty = absent."},
                "sourceSystem": filter(64),
                "dataController": filter(64),
                "owner": filter(64)
            },
            "example": {"registeredResidentIdentification": "191212121212", "serviceDomain": "riv:crm:scheduling"}
        }))
    }
}

impl ToSchema for FindContentRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FindContentRequest")
    }
}

impl PartialSchema for GetUpdatesRequest {
    fn schema() -> RefOr<Schema> {
        schema(&json!({"type": "object",
            "required": ["serviceDomain", "timeStamp"],
            "properties": {
                "serviceDomain": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK,
                    "description": "The domain whose changes are asked for.", "example": "riv:crm:scheduling"},
                "timeStamp": {"type": "string", "minLength": 14, "maxLength": 14, "pattern": exactly(TIMESTAMP),
                    "description": "Posts created or changed in this index at or after this time, Swedish local time.",
                    "example": "20240101000000"},
                "registeredResidentLastFetched": {"type": ["string", "null"], "maxLength": 12,
                    "pattern": empty_or(RESIDENT),
                    "description": "The last resident of the previous page: this page continues after it; empty = absent."}
            },
            "example": {"serviceDomain": "riv:crm:scheduling", "timeStamp": "20240101000000"}
        }))
    }
}

impl ToSchema for GetUpdatesRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("GetUpdatesRequest")
    }
}

/// The subscriber registry's PUT body: a push subscriber needs a url (`http://` or `https://`
/// after any spaces); a pull subscriber does not.
pub(crate) fn subscriber_request_schema() -> RefOr<Schema> {
    schema(&subscriber_json())
}

fn subscriber_json() -> Value {
    json!({"allOf": [
        {"type": "object",
         "description": "A push subscriber (the default) needs a url starting with `http://` or `https://` (spaces around it are dropped); a pull subscriber's url is optional. Unknown members are ignored.",
         "properties": {
            "url": {"type": ["string", "null"], "pattern": CLEAN,
                "description": "Where ProcessNotification is POSTed; required for push."},
            "delivery": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/DeliveryMode"}],
                "description": "`push` (default) or `pull`."},
            "filter": {"type": "array", "items": {"$ref": "#/components/schemas/SubscriberFilter"},
                "description": "Empty or absent: every change. Otherwise a change is sent when some filter's serviceDomain matches and its categorization list is empty or holds the change's."}
         },
         "example": {
            "url": "https://care-system.example/engagementindex/ProcessNotification",
            "delivery": "push",
            "filter": [{"serviceDomain": "riv:infrastructure:eservicesupply:forminteraction", "categorization": ["FormComplete"]}]
         }},
        {"anyOf": [
            {"type": "object", "required": ["delivery"],
             "properties": {"delivery": {"type": "string", "enum": ["pull"]}}},
            {"type": "object", "required": ["url"],
             "properties": {"url": {"type": "string", "pattern": r"^ *https?://[^\u0000-\u001F\u007F]*$"}}}
        ]}
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips(value: &Value) {
        let back = serde_json::to_value(schema(value)).unwrap();
        assert_eq!(&back, value, "utoipa kept every member");
    }

    #[test]
    fn the_written_schemas_survive_utoipa() {
        for contract in [Contract::Update, Contract::ProcessNotification] {
            round_trips(&engagement_json(contract));
            round_trips(&transaction_json(contract));
            round_trips(&request_json(contract));
        }
        round_trips(&subscriber_json());
    }

    #[test]
    fn the_timestamp_pattern_is_the_parser() {
        let pattern = regex::Regex::new(&exactly(TIMESTAMP)).unwrap();
        for value in [
            "20240229120000",
            "20230229120000",
            "21000229120000",
            "20000229120000",
            "20240431000000",
            "20240430235959",
            "20241231240000",
            "20161231235960",
            "10000101000000",
            "09990101000000",
            "99991231235959",
            "20240331023000",
            "2024013112000",
        ] {
            assert_eq!(
                pattern.is_match(value),
                crate::domain::parse_ei_time(value).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn the_key_field_pattern_is_the_white_space_rule() {
        let pattern = regex::Regex::new(KEY_FIELD).unwrap();
        for (value, ok) in [
            ("x", true),
            ("a b", true),
            ("   ", true),
            (" x", false),
            ("x ", false),
            ("", false),
            ("\u{a0}x", true),
            ("x\u{0}", false),
        ] {
            assert_eq!(pattern.is_match(value), ok, "{value:?}");
        }
    }
}
