"""The browser challenge: CReq, the ePin and SMS pages in the merchant's iframe, final CRes, RReq.

- `creq.py`: the CReq (`POST /3ds/challenge`), opening the challenge, sending each attempt's SMS code;
- `steps.py`: the pages' forms (`challenge_step`): the ePin, the SMS code, cancel;
- `outcome.py`: the end of a challenge (`ChallengeEnd`, `finish`), the RReq and its RRes;
- `release.py`: when the final CRes may go (after the RRes, or GUICHET_ACS_RRES_WAIT), the status URL;
- `timeouts.py`: the CReq, challenge and inactivity timers, and their periodic check;
- `screen.py`: what the views show (`Screen`), the Erro screens, the helpers the others share.
"""
