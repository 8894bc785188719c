"""One wave of 150 contracts against 150 waves of one contract, validated in the same run.

Goal: the big wave takes at most half the time of the 150 small ones. Both validate the same
number of contracts on the same PostgreSQL; what differs is the per-wave work (lock, PDF,
wave audit) paid once or 150 times. Reproduce with: make bench

The fan-out is realistic, and kept so: the factories create a new Region reviewer per
contract, all 300 contracts being in one Region, so that each contract of the big wave has
about 319 users to tell (about 900 users in all). Told once per contract, the big wave wrote
about 103,000 notification rows (ratio 0.78 to 0.81); told once per party for the wave, one
row per party (issue 15). With one user per organisation the ratio hid it (0.40).
"""

import sys
from datetime import date

from bench._setup import setup_django, timed

SIZE = 150


def main() -> int:
    setup_django("bench_waves")
    from cases.waves import services as waves
    from tests import factories

    minister = factories.ministry_agent()
    codes = [f"84{n:02d}" for n in range(1, 18)]

    def signed_off(count):
        return [
            factories.contract_in_state("signed_off", territory_code=codes[n % len(codes)])
            for n in range(count)
        ]

    def composed(contracts, name):
        wave = waves.wave_create(actor=minister, name=name, date=date(2019, 3, 5), place="Lyon")
        for contract in contracts:
            waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
        return wave

    print(f"préparation de {2 * SIZE} contrats validés…", flush=True)
    big = composed(signed_off(SIZE), "Grande vague")
    small = [
        composed([contract], f"Petite vague {n}") for n, contract in enumerate(signed_off(SIZE))
    ]

    def validate_all(batch):
        for wave in batch:
            waves.wave_validate(wave=wave, actor=minister)

    small_time = timed(validate_all, small)
    big_time = timed(validate_all, [big])
    print(f"1 vague de {SIZE} contrats : {big_time * 1000:8.0f} ms")
    print(f"{SIZE} vagues d'1 contrat :  {small_time * 1000:8.0f} ms")
    print(f"rapport grande / petites : {big_time / small_time:.2f} (objectif ≤ 0,50)")
    print("commande : make bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
