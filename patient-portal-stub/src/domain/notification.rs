//! The simulated SMS and e-mail that tell a citizen a message has arrived. They carry a fixed
//! notice, never the message's subject or body: those may reveal health information to
//! whoever sees the phone or the mailbox.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::citizen::{Citizen, CitizenId};
use super::message::MessageId;

/// What every notification says (the real portal's notices are Swedish whatever the page
/// language).
pub const NOTICE: &str = "Du har ett nytt meddelande i din inkorg.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    /// The stored and wire name.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Email => "EMAIL",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "SMS" => Some(Self::Sms),
            "EMAIL" => Some(Self::Email),
            _ => None,
        }
    }
}

/// One simulated SMS or e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub citizen_id: CitizenId,
    pub message_id: MessageId,
    pub channel: Channel,
    /// The phone number or e-mail address it went to.
    pub recipient: String,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

/// The notifications a new message for `citizen` causes: one per channel switched on.
pub fn for_new_message(
    citizen: &Citizen,
    message_id: MessageId,
    now: DateTime<Utc>,
) -> Vec<Notification> {
    let channels = [
        (
            citizen.notified_by_sms(),
            Channel::Sms,
            &citizen.profile.phone,
        ),
        (
            citizen.notified_by_email(),
            Channel::Email,
            &citizen.profile.email,
        ),
    ];
    channels
        .into_iter()
        .filter_map(|(on, channel, recipient)| {
            let recipient = recipient.as_ref().filter(|_| on)?;
            Some(Notification {
                id: Uuid::new_v4(),
                citizen_id: citizen.id,
                message_id,
                channel,
                recipient: recipient.clone(),
                text: NOTICE.to_owned(),
                sent_at: now,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::citizen::default_test_citizens;

    #[test]
    fn one_notification_per_channel_switched_on() {
        let profiles = default_test_citizens();
        let counts: Vec<usize> = profiles
            .into_iter()
            .map(|profile| {
                let citizen = Citizen {
                    id: CitizenId::new(),
                    profile,
                };
                for_new_message(&citizen, MessageId::new(), Utc::now()).len()
            })
            .collect();
        // Tolvan: both; Tolva: e-mail; Lena: SMS; Sara: none; Karin: inactive.
        assert_eq!(counts, [2, 1, 1, 0, 0]);
    }

    #[test]
    fn channel_codes_round_trip() {
        for channel in [Channel::Sms, Channel::Email] {
            assert_eq!(Channel::from_code(channel.code()), Some(channel));
        }
        assert_eq!(Channel::from_code("FAX"), None);
    }
}
