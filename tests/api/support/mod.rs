//! Stand-ins for the outside services the notification transports talk to: a real SMTP
//! server process and a strict fake of the SMS provider's REST API.

pub mod sms_provider;
pub mod smtp;

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
