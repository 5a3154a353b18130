"""The year's whistles (吹哨报到) acted out through the escalations service's public API: the
district's routing table at the start, then at each tick the steps the plan gives it: raise
(with a photo), hand on, respond, resolve with evidence, reopen, confirm, and the residents'
ratings with one-time codes from addresses of their own."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field

from cobuild_scenario import files
from cobuild_scenario.actors import Actor, Api, resident_post
from cobuild_scenario.whistles import LIMITS, PlannedWhistle, WhistleYear

SERVICE = "escalations"


@dataclass
class Whistling:
    api: Api
    district_id: str
    parties: dict[str, str]  # code → party id (the driver's world, filled at set-up)
    kinds: dict[str, str]  # code → "street", "community" or "unit"
    year: WhistleYear
    ids: dict[str, str] = field(default_factory=dict)  # whistle key → whistle id
    receivers: dict[str, str] = field(default_factory=dict)  # whistle key → receiver party id

    def _admin(self, code: str) -> Actor:
        role = {"street": "street_admin", "community": "community_admin"}[self.kinds[code]]
        return self.api.actor(role, self.parties[code])

    def _receiver(self, key: str) -> Actor:
        party = self.receivers[key]
        if party == self.district_id:
            return self.api.actor("district_admin", party)
        kind = self.kinds[next(c for c, p in self.parties.items() if p == party)]
        return self.api.actor("unit_admin" if kind == "unit" else "street_admin", party)

    async def set_up(self) -> None:
        """The district admin publishes the routing table: four categories to departments
        (government offices), the rest to the level above, with the default limits."""
        if not self.year.whistles:
            return
        district = self.api.actor("district_admin", self.district_id)
        rules = [
            {"department_id": self.parties[unit], "category": category}
            for category, unit in self.year.routing().items()
        ]
        await district.put(
            SERVICE,
            f"/districts/{self.district_id}/routing",
            {"rules": rules, "limits": list(LIMITS), "note": "the year's routing (吹哨报到)"},
        )

    async def at(self, tick: int) -> None:
        await asyncio.gather(
            *(self._steps(w, tick) for w in self.year.whistles if w.steps_at(tick))
        )

    async def _steps(self, w: PlannedWhistle, tick: int) -> None:
        raiser = self._admin(w.raiser)
        if tick == w.raise_at:
            await self._raise(w, raiser)
        path = f"/whistles/{self.ids.get(w.key)}"
        if tick == w.respond_at:
            await self._receiver(w.key).post(
                SERVICE, f"{path}/respond", {"who_comes": "网格责任组两人"}
            )
        for k, at in enumerate(w.resolve_at):
            if at != tick:
                continue
            if k > 0:
                await raiser.post(SERVICE, f"{path}/reopen", {"reason": "现场复核未解决"})
            receiver = self._receiver(w.key)
            photo = files.png(zlib.crc32(f"{w.key}-fixed-{k}".encode()))
            evidence = await receiver.upload(
                SERVICE, f"{path}/evidence", f"{w.key}-fixed.png", photo, "image/png"
            )
            await receiver.post(
                SERVICE,
                f"{path}/resolve",
                {"evidence_ids": [evidence["evidence_id"]], "note": "已处置"},
            )
        if tick == w.close_at:
            await raiser.post(SERVICE, f"{path}/confirm")
        if tick == w.rate_at:
            issued = await raiser.post(SERVICE, f"{path}/rating-codes", {"count": len(w.ratings)})
            n = int(w.key[2:])
            for k, (code, stars) in enumerate(zip(issued["codes"], w.ratings, strict=True)):
                await resident_post(
                    self.api,
                    "/public/whistle-ratings",
                    {"code": code, "rating": stars},
                    f"10.200.{n & 255}.{k + 1}",
                    service=SERVICE,
                )

    async def _raise(self, w: PlannedWhistle, raiser: Actor) -> None:
        row = await raiser.post(
            SERVICE,
            "/whistles",
            {
                "title": w.title,
                "description": f"{w.title}，需要协调处置",
                "category": w.category,
                "urgency": w.urgency,
                "place_id": self.parties[w.place],
            },
        )
        self.ids[w.key] = str(row["whistle_id"])
        self.receivers[w.key] = str(row["receiver_party_id"])
        photo = files.png(zlib.crc32(w.key.encode()))
        await raiser.upload(SERVICE, f"/whistles/{row['whistle_id']}/evidence",
                            f"{w.key}.png", photo, "image/png")  # fmt: skip
        if w.hand_on_to is not None:
            to = self.parties[w.hand_on_to]
            await self._receiver(w.key).post(
                SERVICE,
                f"/whistles/{row['whistle_id']}/hand-on",
                {"to_party_id": to, "reason": "属本部门职责范围外，转交主管部门"},
            )
            self.receivers[w.key] = to
