//! Which time zone a place keeps, so a scan's time can be shown as the people there read their
//! clocks ("Mon 7 Dec 2026, 09:42 EST"), with the zone always named.
//!
//! The rules come from the IANA database bundled by `chrono-tz`; the place → zone choice is
//! Consign's: a country with one zone has it (from the database's `zone.tab`); the countries
//! split across zones are mapped by state or province where shipping addresses name them
//! (US, Canada, Australia, Mexico, Brazil, the Canary Islands), each state to the zone most of it
//! keeps; a country whose other zones are small islands or share the main zone's offset has its
//! main zone (Germany, China, New Zealand, Portugal, Argentina, …). Where neither is known —
//! Russia or Indonesia without a region rule, an unknown state — there is no zone and callers
//! show UTC, labelled.

use chrono_tz::Tz;

use crate::Timestamp;

/// Countries (ISO 3166-1 alpha-2) and the one zone each keeps.
const COUNTRIES: &[(&str, &str)] = &[
    ("AD", "Europe/Andorra"),
    ("AE", "Asia/Dubai"),
    ("AF", "Asia/Kabul"),
    ("AG", "America/Antigua"),
    ("AI", "America/Anguilla"),
    ("AL", "Europe/Tirane"),
    ("AM", "Asia/Yerevan"),
    ("AO", "Africa/Luanda"),
    ("AR", "America/Argentina/Buenos_Aires"),
    ("AS", "Pacific/Pago_Pago"),
    ("AT", "Europe/Vienna"),
    ("AW", "America/Aruba"),
    ("AX", "Europe/Mariehamn"),
    ("AZ", "Asia/Baku"),
    ("BA", "Europe/Sarajevo"),
    ("BB", "America/Barbados"),
    ("BD", "Asia/Dhaka"),
    ("BE", "Europe/Brussels"),
    ("BF", "Africa/Ouagadougou"),
    ("BG", "Europe/Sofia"),
    ("BH", "Asia/Bahrain"),
    ("BI", "Africa/Bujumbura"),
    ("BJ", "Africa/Porto-Novo"),
    ("BL", "America/St_Barthelemy"),
    ("BM", "Atlantic/Bermuda"),
    ("BN", "Asia/Brunei"),
    ("BO", "America/La_Paz"),
    ("BQ", "America/Kralendijk"),
    ("BR", "America/Sao_Paulo"),
    ("BS", "America/Nassau"),
    ("BT", "Asia/Thimphu"),
    ("BW", "Africa/Gaborone"),
    ("BY", "Europe/Minsk"),
    ("BZ", "America/Belize"),
    ("CC", "Indian/Cocos"),
    ("CF", "Africa/Bangui"),
    ("CG", "Africa/Brazzaville"),
    ("CH", "Europe/Zurich"),
    ("CI", "Africa/Abidjan"),
    ("CK", "Pacific/Rarotonga"),
    ("CL", "America/Santiago"),
    ("CM", "Africa/Douala"),
    ("CN", "Asia/Shanghai"),
    ("CO", "America/Bogota"),
    ("CR", "America/Costa_Rica"),
    ("CU", "America/Havana"),
    ("CV", "Atlantic/Cape_Verde"),
    ("CW", "America/Curacao"),
    ("CX", "Indian/Christmas"),
    ("CY", "Asia/Nicosia"),
    ("CZ", "Europe/Prague"),
    ("DE", "Europe/Berlin"),
    ("DJ", "Africa/Djibouti"),
    ("DK", "Europe/Copenhagen"),
    ("DM", "America/Dominica"),
    ("DO", "America/Santo_Domingo"),
    ("DZ", "Africa/Algiers"),
    ("EC", "America/Guayaquil"),
    ("EE", "Europe/Tallinn"),
    ("EG", "Africa/Cairo"),
    ("EH", "Africa/El_Aaiun"),
    ("ER", "Africa/Asmara"),
    ("ES", "Europe/Madrid"),
    ("ET", "Africa/Addis_Ababa"),
    ("FI", "Europe/Helsinki"),
    ("FJ", "Pacific/Fiji"),
    ("FK", "Atlantic/Stanley"),
    ("FO", "Atlantic/Faroe"),
    ("FR", "Europe/Paris"),
    ("GA", "Africa/Libreville"),
    ("GB", "Europe/London"),
    ("GD", "America/Grenada"),
    ("GE", "Asia/Tbilisi"),
    ("GF", "America/Cayenne"),
    ("GG", "Europe/Guernsey"),
    ("GH", "Africa/Accra"),
    ("GI", "Europe/Gibraltar"),
    ("GM", "Africa/Banjul"),
    ("GN", "Africa/Conakry"),
    ("GP", "America/Guadeloupe"),
    ("GQ", "Africa/Malabo"),
    ("GR", "Europe/Athens"),
    ("GS", "Atlantic/South_Georgia"),
    ("GT", "America/Guatemala"),
    ("GU", "Pacific/Guam"),
    ("GW", "Africa/Bissau"),
    ("GY", "America/Guyana"),
    ("HK", "Asia/Hong_Kong"),
    ("HN", "America/Tegucigalpa"),
    ("HR", "Europe/Zagreb"),
    ("HT", "America/Port-au-Prince"),
    ("HU", "Europe/Budapest"),
    ("IE", "Europe/Dublin"),
    ("IL", "Asia/Jerusalem"),
    ("IM", "Europe/Isle_of_Man"),
    ("IN", "Asia/Kolkata"),
    ("IO", "Indian/Chagos"),
    ("IQ", "Asia/Baghdad"),
    ("IR", "Asia/Tehran"),
    ("IS", "Atlantic/Reykjavik"),
    ("IT", "Europe/Rome"),
    ("JE", "Europe/Jersey"),
    ("JM", "America/Jamaica"),
    ("JO", "Asia/Amman"),
    ("JP", "Asia/Tokyo"),
    ("KE", "Africa/Nairobi"),
    ("KG", "Asia/Bishkek"),
    ("KH", "Asia/Phnom_Penh"),
    ("KM", "Indian/Comoro"),
    ("KN", "America/St_Kitts"),
    ("KP", "Asia/Pyongyang"),
    ("KR", "Asia/Seoul"),
    ("KW", "Asia/Kuwait"),
    ("KY", "America/Cayman"),
    ("KZ", "Asia/Almaty"),
    ("LA", "Asia/Vientiane"),
    ("LB", "Asia/Beirut"),
    ("LC", "America/St_Lucia"),
    ("LI", "Europe/Vaduz"),
    ("LK", "Asia/Colombo"),
    ("LR", "Africa/Monrovia"),
    ("LS", "Africa/Maseru"),
    ("LT", "Europe/Vilnius"),
    ("LU", "Europe/Luxembourg"),
    ("LV", "Europe/Riga"),
    ("LY", "Africa/Tripoli"),
    ("MA", "Africa/Casablanca"),
    ("MC", "Europe/Monaco"),
    ("MD", "Europe/Chisinau"),
    ("ME", "Europe/Podgorica"),
    ("MF", "America/Marigot"),
    ("MG", "Indian/Antananarivo"),
    ("MH", "Pacific/Majuro"),
    ("MK", "Europe/Skopje"),
    ("ML", "Africa/Bamako"),
    ("MM", "Asia/Yangon"),
    ("MO", "Asia/Macau"),
    ("MP", "Pacific/Saipan"),
    ("MQ", "America/Martinique"),
    ("MR", "Africa/Nouakchott"),
    ("MS", "America/Montserrat"),
    ("MT", "Europe/Malta"),
    ("MU", "Indian/Mauritius"),
    ("MV", "Indian/Maldives"),
    ("MW", "Africa/Blantyre"),
    ("MX", "America/Mexico_City"),
    ("MY", "Asia/Kuala_Lumpur"),
    ("MZ", "Africa/Maputo"),
    ("NA", "Africa/Windhoek"),
    ("NC", "Pacific/Noumea"),
    ("NE", "Africa/Niamey"),
    ("NF", "Pacific/Norfolk"),
    ("NG", "Africa/Lagos"),
    ("NI", "America/Managua"),
    ("NL", "Europe/Amsterdam"),
    ("NO", "Europe/Oslo"),
    ("NP", "Asia/Kathmandu"),
    ("NR", "Pacific/Nauru"),
    ("NU", "Pacific/Niue"),
    ("NZ", "Pacific/Auckland"),
    ("OM", "Asia/Muscat"),
    ("PA", "America/Panama"),
    ("PE", "America/Lima"),
    ("PH", "Asia/Manila"),
    ("PK", "Asia/Karachi"),
    ("PL", "Europe/Warsaw"),
    ("PM", "America/Miquelon"),
    ("PN", "Pacific/Pitcairn"),
    ("PR", "America/Puerto_Rico"),
    ("PS", "Asia/Hebron"),
    ("PT", "Europe/Lisbon"),
    ("PW", "Pacific/Palau"),
    ("PY", "America/Asuncion"),
    ("QA", "Asia/Qatar"),
    ("RE", "Indian/Reunion"),
    ("RO", "Europe/Bucharest"),
    ("RS", "Europe/Belgrade"),
    ("RW", "Africa/Kigali"),
    ("SA", "Asia/Riyadh"),
    ("SB", "Pacific/Guadalcanal"),
    ("SC", "Indian/Mahe"),
    ("SD", "Africa/Khartoum"),
    ("SE", "Europe/Stockholm"),
    ("SG", "Asia/Singapore"),
    ("SH", "Atlantic/St_Helena"),
    ("SI", "Europe/Ljubljana"),
    ("SJ", "Arctic/Longyearbyen"),
    ("SK", "Europe/Bratislava"),
    ("SL", "Africa/Freetown"),
    ("SM", "Europe/San_Marino"),
    ("SN", "Africa/Dakar"),
    ("SO", "Africa/Mogadishu"),
    ("SR", "America/Paramaribo"),
    ("SS", "Africa/Juba"),
    ("ST", "Africa/Sao_Tome"),
    ("SV", "America/El_Salvador"),
    ("SX", "America/Lower_Princes"),
    ("SY", "Asia/Damascus"),
    ("SZ", "Africa/Mbabane"),
    ("TC", "America/Grand_Turk"),
    ("TD", "Africa/Ndjamena"),
    ("TF", "Indian/Kerguelen"),
    ("TG", "Africa/Lome"),
    ("TH", "Asia/Bangkok"),
    ("TJ", "Asia/Dushanbe"),
    ("TK", "Pacific/Fakaofo"),
    ("TL", "Asia/Dili"),
    ("TM", "Asia/Ashgabat"),
    ("TN", "Africa/Tunis"),
    ("TO", "Pacific/Tongatapu"),
    ("TR", "Europe/Istanbul"),
    ("TT", "America/Port_of_Spain"),
    ("TV", "Pacific/Funafuti"),
    ("TW", "Asia/Taipei"),
    ("TZ", "Africa/Dar_es_Salaam"),
    ("UA", "Europe/Kyiv"),
    ("UG", "Africa/Kampala"),
    ("UY", "America/Montevideo"),
    ("UZ", "Asia/Tashkent"),
    ("VA", "Europe/Vatican"),
    ("VC", "America/St_Vincent"),
    ("VE", "America/Caracas"),
    ("VG", "America/Tortola"),
    ("VI", "America/St_Thomas"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("VU", "Pacific/Efate"),
    ("WF", "Pacific/Wallis"),
    ("WS", "Pacific/Apia"),
    ("YE", "Asia/Aden"),
    ("YT", "Indian/Mayotte"),
    ("ZA", "Africa/Johannesburg"),
    ("ZM", "Africa/Lusaka"),
    ("ZW", "Africa/Harare"),
];

/// A state or province: (code, name, zone).
type Region = (&'static str, &'static str, &'static str);

/// US states and territories (USPS codes and names): the zone most of each keeps.
const US: &[Region] = &[
    ("AL", "Alabama", "America/Chicago"),
    ("AK", "Alaska", "America/Anchorage"),
    ("AZ", "Arizona", "America/Phoenix"),
    ("AR", "Arkansas", "America/Chicago"),
    ("CA", "California", "America/Los_Angeles"),
    ("CO", "Colorado", "America/Denver"),
    ("CT", "Connecticut", "America/New_York"),
    ("DE", "Delaware", "America/New_York"),
    ("DC", "District of Columbia", "America/New_York"),
    ("FL", "Florida", "America/New_York"),
    ("GA", "Georgia", "America/New_York"),
    ("HI", "Hawaii", "Pacific/Honolulu"),
    ("ID", "Idaho", "America/Boise"),
    ("IL", "Illinois", "America/Chicago"),
    ("IN", "Indiana", "America/Indiana/Indianapolis"),
    ("IA", "Iowa", "America/Chicago"),
    ("KS", "Kansas", "America/Chicago"),
    ("KY", "Kentucky", "America/Kentucky/Louisville"),
    ("LA", "Louisiana", "America/Chicago"),
    ("ME", "Maine", "America/New_York"),
    ("MD", "Maryland", "America/New_York"),
    ("MA", "Massachusetts", "America/New_York"),
    ("MI", "Michigan", "America/Detroit"),
    ("MN", "Minnesota", "America/Chicago"),
    ("MS", "Mississippi", "America/Chicago"),
    ("MO", "Missouri", "America/Chicago"),
    ("MT", "Montana", "America/Denver"),
    ("NE", "Nebraska", "America/Chicago"),
    ("NV", "Nevada", "America/Los_Angeles"),
    ("NH", "New Hampshire", "America/New_York"),
    ("NJ", "New Jersey", "America/New_York"),
    ("NM", "New Mexico", "America/Denver"),
    ("NY", "New York", "America/New_York"),
    ("NC", "North Carolina", "America/New_York"),
    ("ND", "North Dakota", "America/Chicago"),
    ("OH", "Ohio", "America/New_York"),
    ("OK", "Oklahoma", "America/Chicago"),
    ("OR", "Oregon", "America/Los_Angeles"),
    ("PA", "Pennsylvania", "America/New_York"),
    ("RI", "Rhode Island", "America/New_York"),
    ("SC", "South Carolina", "America/New_York"),
    ("SD", "South Dakota", "America/Chicago"),
    ("TN", "Tennessee", "America/Chicago"),
    ("TX", "Texas", "America/Chicago"),
    ("UT", "Utah", "America/Denver"),
    ("VT", "Vermont", "America/New_York"),
    ("VA", "Virginia", "America/New_York"),
    ("WA", "Washington", "America/Los_Angeles"),
    ("WV", "West Virginia", "America/New_York"),
    ("WI", "Wisconsin", "America/Chicago"),
    ("WY", "Wyoming", "America/Denver"),
    ("PR", "Puerto Rico", "America/Puerto_Rico"),
    ("VI", "Virgin Islands", "America/St_Thomas"),
    ("GU", "Guam", "Pacific/Guam"),
    ("AS", "American Samoa", "Pacific/Pago_Pago"),
    ("MP", "Northern Mariana Islands", "Pacific/Saipan"),
];

/// Canadian provinces and territories.
const CA: &[Region] = &[
    ("AB", "Alberta", "America/Edmonton"),
    ("BC", "British Columbia", "America/Vancouver"),
    ("MB", "Manitoba", "America/Winnipeg"),
    ("NB", "New Brunswick", "America/Moncton"),
    ("NL", "Newfoundland and Labrador", "America/St_Johns"),
    ("NS", "Nova Scotia", "America/Halifax"),
    ("NT", "Northwest Territories", "America/Edmonton"),
    ("NU", "Nunavut", "America/Iqaluit"),
    ("ON", "Ontario", "America/Toronto"),
    ("PE", "Prince Edward Island", "America/Halifax"),
    ("QC", "Quebec", "America/Toronto"),
    ("SK", "Saskatchewan", "America/Regina"),
    ("YT", "Yukon", "America/Whitehorse"),
];

/// Australian states and territories.
const AU: &[Region] = &[
    ("ACT", "Australian Capital Territory", "Australia/Sydney"),
    ("NSW", "New South Wales", "Australia/Sydney"),
    ("NT", "Northern Territory", "Australia/Darwin"),
    ("QLD", "Queensland", "Australia/Brisbane"),
    ("SA", "South Australia", "Australia/Adelaide"),
    ("TAS", "Tasmania", "Australia/Hobart"),
    ("VIC", "Victoria", "Australia/Melbourne"),
    ("WA", "Western Australia", "Australia/Perth"),
];

/// Mexican states off central time (the rest keep `America/Mexico_City`).
const MX: &[Region] = &[
    ("BC", "Baja California", "America/Tijuana"),
    ("BCN", "Baja California", "America/Tijuana"),
    ("BCS", "Baja California Sur", "America/Mazatlan"),
    ("SON", "Sonora", "America/Hermosillo"),
    ("CHH", "Chihuahua", "America/Chihuahua"),
    ("SIN", "Sinaloa", "America/Mazatlan"),
    ("NAY", "Nayarit", "America/Mazatlan"),
    ("ROO", "Quintana Roo", "America/Cancun"),
];

/// Brazilian states off Brasília time (the rest keep `America/Sao_Paulo`).
const BR: &[Region] = &[
    ("AC", "Acre", "America/Rio_Branco"),
    ("AM", "Amazonas", "America/Manaus"),
    ("RR", "Roraima", "America/Boa_Vista"),
    ("RO", "Rondônia", "America/Porto_Velho"),
    ("MT", "Mato Grosso", "America/Cuiaba"),
    ("MS", "Mato Grosso do Sul", "America/Campo_Grande"),
];

/// Spanish provinces off peninsular time (the rest keep `Europe/Madrid`).
const ES: &[Region] = &[
    ("GC", "Las Palmas", "Atlantic/Canary"),
    ("TF", "Santa Cruz de Tenerife", "Atlantic/Canary"),
    ("CN", "Canarias", "Atlantic/Canary"),
];

/// Countries whose zone depends on the state, and whether a state not listed keeps the
/// country's main zone (a table of exceptions) or has no known zone (a full table).
const BY_STATE: &[(&str, &[Region], bool)] = &[
    ("US", US, false),
    ("CA", CA, false),
    ("AU", AU, false),
    ("MX", MX, true),
    ("BR", BR, true),
    ("ES", ES, true),
];

fn parse(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// The zone kept at a place, from its country (ISO alpha-2, any case) and, for countries split
/// across zones, its state or province (code or name, any case). `None` when unknown.
pub fn zone_of(country: &str, state: Option<&str>) -> Option<Tz> {
    let country = country.trim();
    if let Some((_, table, has_main)) = BY_STATE
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(country))
    {
        let state = state.map(str::trim).filter(|s| !s.is_empty());
        let hit = state.and_then(|s| {
            table.iter().find(|(code, name, _)| {
                code.eq_ignore_ascii_case(s) || name.eq_ignore_ascii_case(s)
            })
        });
        return match (hit, has_main) {
            (Some((_, _, zone)), _) => parse(zone),
            (None, true) => main_zone(country),
            (None, false) => None,
        };
    }
    main_zone(country)
}

fn main_zone(country: &str) -> Option<Tz> {
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))
        .and_then(|(_, zone)| parse(zone))
}

/// A time as read at a place: `Mon 7 Dec 2026, 09:42 EST` in `zone`, or
/// `Mon 7 Dec 2026, 14:42 UTC` when the zone is unknown. The zone is always named.
pub fn local_text(t: Timestamp, zone: Option<Tz>) -> String {
    const FORMAT: &str = "%a %-d %b %Y, %H:%M %Z";
    match zone {
        Some(tz) => t
            .to_datetime()
            .with_timezone(&tz)
            .format(FORMAT)
            .to_string(),
        None => t
            .to_datetime()
            .format("%a %-d %b %Y, %H:%M UTC")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_in_the_tables_is_known_to_the_rules() {
        let states = BY_STATE
            .iter()
            .flat_map(|(_, t, _)| t.iter().map(|(_, _, z)| *z));
        for zone in COUNTRIES.iter().map(|(_, z)| *z).chain(states) {
            assert!(
                parse(zone).is_some(),
                "{zone} is not in the bundled database"
            );
        }
    }

    #[test]
    fn a_country_with_one_zone_needs_no_state() {
        assert_eq!(zone_of("gb", None), Some(Tz::Europe__London));
        assert_eq!(zone_of("DE", Some("Bayern")), Some(Tz::Europe__Berlin));
        assert_eq!(zone_of("JP", None), Some(Tz::Asia__Tokyo));
    }

    #[test]
    fn split_countries_go_by_state_code_or_name() {
        assert_eq!(zone_of("US", Some("TX")), Some(Tz::America__Chicago));
        assert_eq!(
            zone_of("US", Some("california")),
            Some(Tz::America__Los_Angeles)
        );
        assert_eq!(zone_of("CA", Some("BC")), Some(Tz::America__Vancouver));
        assert_eq!(zone_of("AU", Some("WA")), Some(Tz::Australia__Perth));
        assert_eq!(zone_of("ES", Some("TF")), Some(Tz::Atlantic__Canary));
        assert_eq!(zone_of("ES", Some("Madrid")), Some(Tz::Europe__Madrid));
        assert_eq!(zone_of("MX", None), Some(Tz::America__Mexico_City));
    }

    #[test]
    fn unknown_places_have_no_zone() {
        assert_eq!(zone_of("US", None), None);
        assert_eq!(zone_of("US", Some("ZZ")), None);
        assert_eq!(zone_of("RU", Some("Moscow")), None);
        assert_eq!(zone_of("XX", None), None);
    }

    #[test]
    fn local_text_names_the_zone_and_follows_daylight_saving() {
        // 2026-12-07T14:42:00Z: winter in New York (UTC-5), summer in Sydney (UTC+11).
        let t = Timestamp::parse("2026-12-07T14:42:00Z").unwrap();
        assert_eq!(
            local_text(t, zone_of("US", Some("NY"))),
            "Mon 7 Dec 2026, 09:42 EST"
        );
        assert_eq!(
            local_text(t, zone_of("AU", Some("NSW"))),
            "Tue 8 Dec 2026, 01:42 AEDT"
        );
        assert_eq!(local_text(t, None), "Mon 7 Dec 2026, 14:42 UTC");
        // July: New York keeps daylight time.
        let summer = Timestamp::parse("2026-07-07T14:42:00Z").unwrap();
        assert_eq!(
            local_text(summer, zone_of("US", Some("NY"))),
            "Tue 7 Jul 2026, 10:42 EDT"
        );
    }
}
