//! The recorded prompts of the voice menu, in the languages a caller can choose with the
//! keypad: welcome, each language's line of the language menu ("For English, press 2",
//! in English), busy, queue position, closed line; and the hold music, the same for
//! everyone.
//!
//! The files are 8 kHz mono raw μ-law, made from `prompts/texts.toml` by
//! `tools/prompts.sh` and committed. They are compiled into the binary with
//! `include_bytes!` (about 2.3 MB): the service stays one file that needs no prompt
//! directory at run time, a missing or misnamed prompt fails the build rather than a
//! call, and a prompt plays straight from memory with no I/O during the call.

use super::dtmf::Key;
use super::g711::Codec;

/// The codec of every prompt file.
pub const PROMPT_CODEC: Codec = Codec::Pcmu;

/// A language of the voice menu, in the menu's order (Italian first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// Italiano.
    Italian,
    /// English.
    English,
    /// Français.
    French,
    /// Español.
    Spanish,
    /// Română.
    Romanian,
    /// Русский.
    Russian,
    /// 中文 (Mandarin).
    Chinese,
    /// Shqip.
    Albanian,
}

impl Language {
    /// Every language, in the menu's order.
    pub const ALL: [Language; 8] = [
        Language::Italian,
        Language::English,
        Language::French,
        Language::Spanish,
        Language::Romanian,
        Language::Russian,
        Language::Chinese,
        Language::Albanian,
    ];

    /// The ISO 639-1 code, as call records and operators' languages write it.
    pub fn code(self) -> &'static str {
        match self {
            Language::Italian => "it",
            Language::English => "en",
            Language::French => "fr",
            Language::Spanish => "es",
            Language::Romanian => "ro",
            Language::Russian => "ru",
            Language::Chinese => "zh",
            Language::Albanian => "sq",
        }
    }

    /// The language of an ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The key that chooses it in the recorded menu ("1 italiano, 2 English, …").
    pub fn digit(self) -> u8 {
        match self {
            Language::Italian => 1,
            Language::English => 2,
            Language::French => 3,
            Language::Spanish => 4,
            Language::Romanian => 5,
            Language::Russian => 6,
            Language::Chinese => 7,
            Language::Albanian => 8,
        }
    }

    /// The language a key chooses in the recorded menu.
    pub fn from_key(key: Key) -> Option<Self> {
        let digit = key.digit()?;
        Self::ALL.into_iter().find(|l| l.digit() == digit)
    }

    /// The language a key chooses among those the menu offers: Italian without a key,
    /// or for a key that chooses nothing offered.
    pub fn chosen(key: Option<Key>, offered: &[Language]) -> Self {
        key.and_then(Self::from_key)
            .filter(|l| offered.contains(l))
            .unwrap_or(Language::Italian)
    }

    /// Its name in itself, as the menu says it.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::Italian => "italiano",
            Language::English => "English",
            Language::French => "français",
            Language::Spanish => "español",
            Language::Romanian => "română",
            Language::Russian => "русский",
            Language::Chinese => "中文",
            Language::Albanian => "shqip",
        }
    }

    /// Its name in Italian, for the console.
    pub fn italian_name(self) -> &'static str {
        match self {
            Language::Italian => "italiano",
            Language::English => "inglese",
            Language::French => "francese",
            Language::Spanish => "spagnolo",
            Language::Romanian => "rumeno",
            Language::Russian => "russo",
            Language::Chinese => "cinese",
            Language::Albanian => "albanese",
        }
    }

    fn files(self) -> &'static Files {
        match self {
            Language::Italian => &IT,
            Language::English => &EN,
            Language::French => &FR,
            Language::Spanish => &ES,
            Language::Romanian => &RO,
            Language::Russian => &RU,
            Language::Chinese => &ZH,
            Language::Albanian => &SQ,
        }
    }
}

/// A prompt recorded in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// "Numero Verde Anti-Tratta. La chiamata è gratuita e anonima."
    Welcome,
    /// "Tutti gli operatori sono occupati. La preghiamo di restare in linea."
    BusyHold,
    /// "La sua posizione in coda è", before a digit ([`queue_position`]).
    QueuePosition,
    /// The line is closed; in danger, call 112.
    Closed,
}

impl Prompt {
    /// Every prompt.
    pub const ALL: [Prompt; 4] = [
        Prompt::Welcome,
        Prompt::BusyHold,
        Prompt::QueuePosition,
        Prompt::Closed,
    ];
}

/// One language's files.
struct Files {
    welcome: &'static [u8],
    menu: &'static [u8],
    busy_hold: &'static [u8],
    queue_position: &'static [u8],
    closed: &'static [u8],
    /// "1" to "9".
    digits: [&'static [u8]; 9],
}

macro_rules! prompt_file {
    ($($part:expr),+) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/", $($part),+))
    };
}

macro_rules! files {
    ($lang:literal) => {
        Files {
            welcome: prompt_file!($lang, "/welcome.ul"),
            menu: prompt_file!($lang, "/menu.ul"),
            busy_hold: prompt_file!($lang, "/busy_hold.ul"),
            queue_position: prompt_file!($lang, "/queue_position.ul"),
            closed: prompt_file!($lang, "/closed.ul"),
            digits: [
                prompt_file!($lang, "/digit_1.ul"),
                prompt_file!($lang, "/digit_2.ul"),
                prompt_file!($lang, "/digit_3.ul"),
                prompt_file!($lang, "/digit_4.ul"),
                prompt_file!($lang, "/digit_5.ul"),
                prompt_file!($lang, "/digit_6.ul"),
                prompt_file!($lang, "/digit_7.ul"),
                prompt_file!($lang, "/digit_8.ul"),
                prompt_file!($lang, "/digit_9.ul"),
            ],
        }
    };
}

static IT: Files = files!("it");
static EN: Files = files!("en");
static FR: Files = files!("fr");
static ES: Files = files!("es");
static RO: Files = files!("ro");
static RU: Files = files!("ru");
static ZH: Files = files!("zh");
static SQ: Files = files!("sq");

static HOLD_MUSIC: &[u8] = prompt_file!("hold_music.ul");

/// A prompt in a language (μ-law, [`PROMPT_CODEC`]).
pub fn audio(language: Language, prompt: Prompt) -> &'static [u8] {
    let files = language.files();
    match prompt {
        Prompt::Welcome => files.welcome,
        Prompt::BusyHold => files.busy_hold,
        Prompt::QueuePosition => files.queue_position,
        Prompt::Closed => files.closed,
    }
}

/// A language's line of the language menu, said in that language with its key.
pub fn menu_line(language: Language) -> &'static [u8] {
    language.files().menu
}

/// The hold music, a loop of about 19 s.
pub fn hold_music() -> &'static [u8] {
    HOLD_MUSIC
}

/// "You are number N" as two clips to play one after the other, for positions 1 to 9;
/// further back, nothing (the caller hears the busy prompt and the music only).
pub fn queue_position(language: Language, position: usize) -> Option<[&'static [u8]; 2]> {
    let files = language.files();
    let digit = files.digits.get(position.checked_sub(1)?)?;
    Some([files.queue_position, digit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::media::rtp::SAMPLE_RATE;
    use crate::telephony::media::tone::rms;

    /// Decoded, and checked to be sound rather than silence or noise: at least `min_s`
    /// seconds, loud enough, and not clipped throughout.
    fn assert_audible(name: &str, clip: &[u8], min_s: f64) {
        let mut samples = vec![0i16; clip.len()];
        PROMPT_CODEC.decode(clip, &mut samples);
        let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        assert!(seconds >= min_s, "{name}: {seconds:.2} s");
        let level = rms(&samples);
        assert!(
            (1_000.0..12_000.0).contains(&level),
            "{name}: RMS {level:.0}"
        );
    }

    #[test]
    fn every_language_has_every_prompt_and_each_is_audible() {
        for language in Language::ALL {
            for prompt in Prompt::ALL {
                let name = format!("{}/{prompt:?}", language.code());
                assert_audible(&name, audio(language, prompt), 1.0);
            }
            for n in 1..=9 {
                let [phrase, digit] = queue_position(language, n).expect("positions 1–9");
                assert_eq!(phrase, audio(language, Prompt::QueuePosition));
                assert_audible(&format!("{}/digit {n}", language.code()), digit, 0.3);
            }
        }
    }

    #[test]
    fn positions_beyond_nine_have_no_recording() {
        assert!(queue_position(Language::Italian, 0).is_none());
        assert!(queue_position(Language::Italian, 10).is_none());
    }

    #[test]
    fn each_language_has_its_menu_line_and_the_music_plays_a_while() {
        for language in Language::ALL {
            assert_audible(
                &format!("{}/menu", language.code()),
                menu_line(language),
                1.0,
            );
        }
        assert_ne!(menu_line(Language::Italian), menu_line(Language::English));
        assert_audible("hold music", hold_music(), 15.0);
    }

    #[test]
    fn the_keypad_digits_and_codes_name_each_language_once() {
        for (i, language) in Language::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(language.digit()), i + 1);
            let key = Key::from_event(language.digit()).expect("a key");
            assert_eq!(Language::from_key(key), Some(language));
            assert_eq!(Language::from_code(language.code()), Some(language));
        }
        assert_eq!(Language::from_code("EN"), Some(Language::English));
        assert_eq!(Language::from_code("de"), None);
        for unused in ['0', '9', '*', '#'] {
            let key = Key::from_char(unused).expect("a key");
            assert_eq!(Language::from_key(key), None, "{unused}");
        }
    }

    #[test]
    fn prompts_are_not_the_same_recording_twice() {
        let italian = audio(Language::Italian, Prompt::Welcome);
        for language in &Language::ALL[1..] {
            assert_ne!(audio(*language, Prompt::Welcome), italian);
        }
        assert_ne!(
            audio(Language::Italian, Prompt::BusyHold),
            audio(Language::Italian, Prompt::Closed)
        );
    }
}
