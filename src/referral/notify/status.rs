//! A message's delivery status as the SMS provider reports it, in its answer to a send
//! and in the status callbacks that follow.

/// A message's status as the provider reports it (in its answer and in status callbacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting to be sent.
    Queued,
    /// Accepted by a messaging service, not yet queued.
    Accepted,
    /// Scheduled for later.
    Scheduled,
    /// Being sent.
    Sending,
    /// Handed to the carrier.
    Sent,
    /// The carrier confirmed delivery to the handset.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// Could not be sent at all.
    Failed,
    /// Read by the recipient (some channels only).
    Read,
    /// Canceled before sending.
    Canceled,
    /// Inbound: being received.
    Receiving,
    /// Inbound: received.
    Received,
    /// A value this version does not know, kept as given.
    Other(String),
}

impl DeliveryStatus {
    /// Reads the provider's lower-case status word.
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "accepted" => Self::Accepted,
            "scheduled" => Self::Scheduled,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            "read" => Self::Read,
            "canceled" => Self::Canceled,
            "receiving" => Self::Receiving,
            "received" => Self::Received,
            other => Self::Other(other.to_string()),
        }
    }

    /// The provider's word for it, for storage.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Read => "read",
            Self::Canceled => "canceled",
            Self::Receiving => "receiving",
            Self::Received => "received",
            Self::Other(s) => s,
        }
    }

    /// No later status will follow.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Delivered
                | Self::Undelivered
                | Self::Failed
                | Self::Read
                | Self::Canceled
                | Self::Received
        )
    }

    /// The message did not and will not reach the contact: escalate by another way.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Undelivered | Self::Failed | Self::Canceled)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_kept() {
        for word in [
            "queued",
            "sent",
            "delivered",
            "undelivered",
            "failed",
            "received",
        ] {
            assert_eq!(DeliveryStatus::parse(word).as_str(), word);
        }
        assert_eq!(
            DeliveryStatus::parse("partially_delivered"),
            DeliveryStatus::Other("partially_delivered".into())
        );
        assert!(DeliveryStatus::Undelivered.is_failure() && DeliveryStatus::Undelivered.is_final());
        assert!(!DeliveryStatus::Sent.is_final());
    }
}
