//! Charset conversions for the JS side (the test receiver, `mllp receive`): the same names
//! and tables as the client's, from `crate::charset`.

// Registered with napi; unit tests build the crate without calling them.
#![cfg_attr(test, allow(dead_code))]

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::invalid;
use crate::charset::{resolve, Encoding};

/// The charset a received message is written in: `encoding` itself, or with `"auto"` the
/// one its MSH-18 names (UTF-8 when none, or when that name is unusable: a receiver still
/// answers). Returns a name `charsetEncode`/`charsetDecode` accept.
#[napi]
pub fn message_charset(message: Buffer, encoding: String) -> Result<String> {
    let encoding = Encoding::parse(&encoding).map_err(invalid)?;
    let charset = encoding
        .message_charset(&message)
        .unwrap_or(crate::charset::UTF8);
    Ok(charset.name().to_string())
}

/// Text as bytes in `charset`; a character it cannot encode is INVALID_INPUT.
#[napi]
pub fn charset_encode(text: String, charset: String) -> Result<Buffer> {
    let charset = resolve(&charset).map_err(invalid)?;
    Ok(charset.encode(&text).map_err(invalid)?.into_owned().into())
}

/// Bytes as text: a charset name, or `"auto"` (the bytes' own MSH-18, else UTF-8).
#[napi]
pub fn charset_decode(bytes: Buffer, encoding: String) -> Result<String> {
    Ok(Encoding::parse(&encoding).map_err(invalid)?.decode(&bytes))
}

/// What the diagnostics channel reports about a message (README, "Diagnostics"): its
/// control id (MSH-10) and the number of bytes inside the frame, exactly as a send would
/// prepare them; `None` when the send would refuse it. Called only when someone subscribes.
#[napi(object)]
pub struct MessageFacts {
    pub control_id: Option<String>,
    pub bytes: u32,
}

#[napi]
pub fn describe_message(message: Either<String, Buffer>, encoding: String) -> Option<MessageFacts> {
    let encoding = Encoding::parse(&encoding).ok()?;
    let prepared = match message {
        Either::A(text) => crate::message::prepare_text(&text, encoding),
        Either::B(bytes) => crate::message::prepare_bytes(&bytes, encoding),
    }
    .ok()?;
    let bytes = u32::try_from(prepared.message().len()).unwrap_or(u32::MAX);
    Some(MessageFacts {
        control_id: prepared.control_id,
        bytes,
    })
}
