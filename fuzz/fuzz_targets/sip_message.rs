//! Bytes as they come off a UDP socket or a TCP stream, through the SIP endpoint's
//! parse and dispatch path (`helpline::telephony::sip::fuzz::exercise`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    helpline::telephony::sip::fuzz::exercise(data);
});
