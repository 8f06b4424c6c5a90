//! Test hook: the core's ACK parser on a string, for the differential property test
//! (`ack/test/differential.test.js`) that compares it with `@glion/ack`'s `parseAck`.

// Registered with napi; unit tests build the crate without calling them.
#![cfg_attr(test, allow(dead_code))]

use serde_json::{json, Value};

use crate::ack::parse_ack;

/// The parsed fields as JSON (`null` for an absent value), or `{ "error": code, "message" }`.
#[napi_derive::napi(js_name = "__parseAckForTests")]
pub fn parse_ack_for_tests(text: String) -> String {
    let value = match parse_ack(&text) {
        Ok(ack) => json!({
            "code": ack.code.as_str(),
            "controlId": ack.control_id,
            "message": ack.message,
            "errorCode": ack.error_code,
            "severity": ack.severity,
            "errors": ack.errors.iter().map(|e| json!({
                "errorCode": e.error_code,
                "errorText": e.error_text,
                "severity": e.severity,
                "location": e.location,
            })).collect::<Vec<Value>>(),
            "raw": ack.raw,
        }),
        Err(error) => json!({ "error": error.code(), "message": error.to_string() }),
    };
    value.to_string()
}
