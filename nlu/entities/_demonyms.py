"""Hand-kept tables the ISO data lacks: country aliases and nationality adjectives.

``pycountry`` knows "United Kingdom of Great Britain and Northern Ireland" but not
"the UK", "England" or "Holland", and no demonyms at all. Keys are phrases
(matched case-insensitively on word tokens), values ISO 3166 alpha-2 codes; a
value of ``None`` blocks the phrase, so that the longer phrase hides a shorter
one inside it ("South American" is not "American", "French fries" is food).
"""

from __future__ import annotations

__all__ = ["ALIASES", "DEMONYMS", "INVARIANT"]

ALIASES: dict[str, str | None] = {
    "us": "US", "the us": "US", "the u.s.": "US", "u.s.": "US", "u.s.a.": "US", "usa": "US",
    "united states of america": "US", "america": "US", "the states": "US",
    "uk": "GB", "u.k.": "GB", "the uk": "GB", "britain": "GB", "great britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "holland": "NL", "the netherlands": "NL", "russia": "RU", "south korea": "KR",
    "korea": "KR", "north korea": "KP", "iran": "IR", "syria": "SY", "laos": "LA",
    "vietnam": "VN", "taiwan": "TW", "tanzania": "TZ", "venezuela": "VE", "bolivia": "BO",
    "moldova": "MD", "czech republic": "CZ", "the czech republic": "CZ", "macedonia": "MK",
    "ivory coast": "CI", "cote d'ivoire": "CI", "burma": "MM", "swaziland": "SZ",
    "cape verde": "CV", "turkey": "TR", "turkiye": "TR", "uae": "AE", "the uae": "AE",
    "emirates": "AE",
    "the philippines": "PH", "vatican": "VA", "vatican city": "VA", "the vatican": "VA",
    "palestine": "PS", "micronesia": "FM", "brunei": "BN", "congo": "CG",
    "dr congo": "CD", "drc": "CD", "democratic republic of the congo": "CD",
    "east timor": "TL", "the gambia": "GM", "st lucia": "LC", "st. lucia": "LC",
    "south american": None, "latin american": None, "north american": None,
    "central american": None, "native american": None, "pan american": None,
    "american express": None, "american football": None, "british columbia": None,
    "new england": None, "new mexico": None, "new jersey": None, "new south wales": None,
    "guinea pig": None,
    "guinea pigs": None, "china town": None, "fine china": None, "french fries": None,
    "french toast": None, "french horn": None, "french kiss": None, "turkish delight": None,
    "indian ocean": None, "chinese checkers": None, "english breakfast": None,
    "spanish flu": None, "dutch oven": None, "english channel": None,
}

# demonym -> code. Plurals ("Americans", "Brits") are derived; INVARIANT ones have none.
DEMONYMS: dict[str, str] = {
    "afghan": "AF", "albanian": "AL", "algerian": "DZ", "american": "US", "angolan": "AO",
    "argentine": "AR", "argentinian": "AR", "armenian": "AM", "australian": "AU",
    "austrian": "AT", "azerbaijani": "AZ", "bahraini": "BH", "bangladeshi": "BD",
    "belarusian": "BY", "belgian": "BE", "bolivian": "BO", "bosnian": "BA", "brazilian": "BR",
    "british": "GB", "brit": "GB", "bulgarian": "BG", "cambodian": "KH", "cameroonian": "CM",
    "canadian": "CA", "chilean": "CL", "chinese": "CN", "colombian": "CO", "congolese": "CD",
    "costa rican": "CR", "croatian": "HR", "cuban": "CU", "cypriot": "CY", "czech": "CZ",
    "danish": "DK", "dane": "DK", "dominican": "DO", "dutch": "NL", "ecuadorian": "EC",
    "egyptian": "EG", "emirati": "AE", "english": "GB", "englishman": "GB",
    "englishwoman": "GB", "eritrean": "ER", "estonian": "EE", "ethiopian": "ET",
    "fijian": "FJ", "filipino": "PH", "filipina": "PH", "finnish": "FI", "finn": "FI",
    "french": "FR", "frenchman": "FR", "frenchwoman": "FR", "georgian": "GE", "german": "DE",
    "ghanaian": "GH", "greek": "GR", "guatemalan": "GT", "haitian": "HT", "honduran": "HN",
    "hungarian": "HU", "icelandic": "IS", "indian": "IN", "indonesian": "ID", "iranian": "IR",
    "iraqi": "IQ", "irish": "IE", "israeli": "IL", "italian": "IT", "ivorian": "CI",
    "jamaican": "JM", "japanese": "JP", "jordanian": "JO", "kazakh": "KZ", "kenyan": "KE",
    "korean": "KR", "south korean": "KR", "north korean": "KP", "kuwaiti": "KW",
    "latvian": "LV", "lebanese": "LB", "libyan": "LY", "lithuanian": "LT",
    "luxembourgish": "LU", "malaysian": "MY", "maltese": "MT", "mexican": "MX",
    "moldovan": "MD", "mongolian": "MN", "moroccan": "MA", "mozambican": "MZ",
    "nepalese": "NP", "nepali": "NP", "new zealander": "NZ", "nicaraguan": "NI",
    "nigerian": "NG", "norwegian": "NO", "omani": "OM", "pakistani": "PK",
    "palestinian": "PS", "panamanian": "PA", "paraguayan": "PY", "peruvian": "PE",
    "polish": "PL", "pole": "PL", "portuguese": "PT", "puerto rican": "PR", "qatari": "QA",
    "romanian": "RO", "russian": "RU", "rwandan": "RW", "salvadoran": "SV", "saudi": "SA",
    "saudi arabian": "SA", "scottish": "GB", "scot": "GB", "senegalese": "SN",
    "serbian": "RS", "singaporean": "SG", "slovak": "SK", "slovenian": "SI", "somali": "SO",
    "south african": "ZA", "spanish": "ES", "spaniard": "ES", "sri lankan": "LK",
    "sudanese": "SD", "swedish": "SE", "swede": "SE", "swiss": "CH", "syrian": "SY",
    "taiwanese": "TW", "tanzanian": "TZ", "thai": "TH", "tunisian": "TN", "turkish": "TR",
    "turk": "TR", "ugandan": "UG", "ukrainian": "UA", "uruguayan": "UY", "uzbek": "UZ",
    "venezuelan": "VE", "vietnamese": "VN", "welsh": "GB", "yemeni": "YE", "zambian": "ZM",
    "zimbabwean": "ZW",
}
#: no plural form ("the French", "two Chinese"); "-man" words pluralise to "-men"
INVARIANT = frozenset(w for w in DEMONYMS if w.endswith(("ish", "ese", "ss", "ch", "nch", "ai")))
