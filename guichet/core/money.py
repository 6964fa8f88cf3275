"""ISO 4217 currency codes and their minor units, and amounts written the way each language writes them.

Plain data, no Django: `guichet.config.env` checks GUICHET_PAYMENT_CURRENCIES against it.
"""

from __future__ import annotations

# Active codes of ISO 4217 (list one), with the number of minor-unit digits.
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD "
    "CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD "
    "HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR "
    "SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU "
    "UZS VES WST XCD YER ZAR ZMW ZWL"
)
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"

ISO_4217: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
}


# Amounts in minor units written the way each language writes them: "3,90 €" and "€3.90".
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "XPF": "F"}
NBSP = "\u00a0"
NNBSP = "\u202f"  # French thousands separator


def money_format(amount: int, currency: str, language: str) -> str:
    digits = ISO_4217.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    symbol = SYMBOLS.get(currency, "")
    if language == "fr":
        number = f"{whole:,}".replace(",", NNBSP)
        if digits:
            number += f",{fraction:0{digits}d}"
        return f"{sign}{number}{NBSP}{symbol or currency}"
    number = f"{whole:,}"
    if digits:
        number += f".{fraction:0{digits}d}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
