"""The synthetic data DaCHS serves for tests and the demo: a star catalogue and a few images.

The catalogue ``synth.main`` (``id``, ``object_id``, ``ra``, ``dec``, ``mag``, ``flux``) covers
the box ra 50-70°, dec -40..-30°, like the fields of the shipped ``demo`` query set. The images are
tiny FITS files published to ObsCore, so the site-wide SIA v2 service finds them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = [
    "CATALOG_BOX",
    "IMAGES",
    "SyntheticImage",
    "object_ids",
    "write_fixtures",
]

CATALOG_BOX = (50.0, 70.0, -40.0, -30.0)
"""Bounds of the catalogue: min_ra, max_ra, min_dec, max_dec in degrees."""

_SEED = 42
_FIRST_OBJECT_ID = 1_000_000_000
_OBJECT_ID_STEP = 7


@dataclass(frozen=True)
class SyntheticImage:
    """One synthetic image: its centre, observation time and target name."""

    name: str
    ra: float
    dec: float
    date_obs: datetime


_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
IMAGES = (
    SyntheticImage("field-a", 55.0, -32.0, _EPOCH + timedelta(days=1)),
    SyntheticImage("field-b", 60.0, -35.0, _EPOCH + timedelta(days=3)),
    SyntheticImage("field-c", 65.0, -38.0, _EPOCH + timedelta(days=5)),
    SyntheticImage("field-d", 60.0, -35.2, _EPOCH + timedelta(days=7)),
)
"""The images; all lie in :data:`CATALOG_BOX` and were taken in January 2024."""

_IMAGE_PIXELS = 64
_IMAGE_SCALE = 0.01
"""Degrees per pixel: each image covers 0.64° * 0.64°."""


def object_ids(rows: int) -> list[int]:
    """Return the object ids of a catalogue of ``rows`` rows, in row order."""
    return [_FIRST_OBJECT_ID + i * _OBJECT_ID_STEP for i in range(rows)]


def _catalog_csv(rows: int) -> str:
    rng = random.Random(_SEED)  # noqa: S311 - reproducible test data
    min_ra, max_ra, min_dec, max_dec = CATALOG_BOX
    sin_min, sin_max = math.sin(math.radians(min_dec)), math.sin(math.radians(max_dec))
    lines = ["id,object_id,ra,dec,mag,flux"]
    for i, object_id in enumerate(object_ids(rows)):
        ra = rng.uniform(min_ra, max_ra)
        dec = math.degrees(math.asin(rng.uniform(sin_min, sin_max)))
        mag = rng.uniform(15.0, 25.0)
        flux = 10 ** (-0.4 * (mag - 31.4))  # nJy
        lines.append(f"{i},{object_id},{ra:.7f},{dec:.7f},{mag:.4f},{flux:.6g}")
    return "\n".join(lines) + "\n"


_META = """\
  <meta name="creationDate">2024-01-01T00:00:00Z</meta>
  <meta name="subject">stars</meta>
  <meta name="creator.name">mobu</meta>
  <meta name="contact.name">mobu operator</meta>
  <meta name="contact.email">mobu@example.invalid</meta>
"""

CATALOG_RD = f"""\
<resource schema="synth">
  <meta name="title">Synthetic mobu catalogue</meta>
  <meta name="description">Synthetic stars with positions, magnitudes and fluxes, queried by
    mobu's TAP monkeys.</meta>
{_META}
  <table id="main" onDisk="True" adql="True" mixin="//scs#q3cindex">
    <meta name="description">Synthetic stars</meta>
    <column name="id" type="integer" ucd="meta.id" required="True" description="Row number"/>
    <column name="object_id" type="bigint" ucd="meta.id;meta.main" required="True"
      description="Object identifier"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      description="Right ascension"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      description="Declination"/>
    <column name="mag" type="real" unit="mag" ucd="phot.mag" description="Magnitude"/>
    <column name="flux" type="double precision" unit="nJy" ucd="phot.flux"
      description="Flux"/>
  </table>
  <data id="import">
    <sources>data/synth.csv</sources>
    <csvGrammar/>
    <make table="main"><rowmaker idmaps="*"/></make>
  </data>
</resource>
"""

IMAGES_RD = f"""\
<resource schema="synthimg" resdir=".">
  <meta name="title">Synthetic mobu images</meta>
  <meta name="description">A few tiny synthetic FITS images for mobu's SIA monkeys.</meta>
{_META}
  <table id="main" onDisk="True" mixin="//siap#pgs" adql="True">
    <mixin calibLevel="2" collectionName="'SYNTHIMG'" targetName="object"
      expTime="exptime">//obscore#publishSIAP</mixin>
    <column name="object" type="text" ucd="meta.id;src" description="Target"/>
    <column name="exptime" type="real" unit="s" ucd="time.duration;obs.exposure"
      description="Exposure time"/>
  </table>
  <data id="import">
    <sources pattern="data/*.fits"/>
    <fitsProdGrammar>
      <rowfilter procDef="//products#define"><bind key="table">"\\schema.main"</bind></rowfilter>
    </fitsProdGrammar>
    <make table="main">
      <rowmaker>
        <apply procDef="//siap#setMeta">
          <bind key="dateObs">@DATE_OBS</bind>
          <bind key="bandpassId">@FILTER</bind>
          <bind key="pixflags">"X"</bind>
          <bind key="title">"Synth {{}} {{}}".format(@OBJECT, @DATE_OBS)</bind>
        </apply>
        <apply procDef="//siap#getBandFromFilter"/>
        <apply procDef="//siap#computePGS"/>
        <map key="object">@OBJECT</map>
        <map key="exptime">@EXPTIME</map>
      </rowmaker>
    </make>
  </data>
</resource>
"""


def _write_image(path: Path, image: SyntheticImage) -> None:
    import numpy as np
    from astropy.io import fits

    rng = np.random.default_rng(sum(map(ord, image.name)))
    data = rng.normal(100.0, 5.0, (_IMAGE_PIXELS, _IMAGE_PIXELS)).astype("float32")
    header = fits.Header()
    centre = (_IMAGE_PIXELS + 1) / 2
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = image.ra, image.dec
    header["CRPIX1"], header["CRPIX2"] = centre, centre
    header["CDELT1"], header["CDELT2"] = -_IMAGE_SCALE, _IMAGE_SCALE
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    header["DATE-OBS"] = image.date_obs.strftime("%Y-%m-%dT%H:%M:%S")
    header["FILTER"] = "V"
    header["OBJECT"] = image.name
    header["EXPTIME"] = 30.0
    fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)


def write_fixtures(inputs: Path, rows: int = 5000) -> tuple[str, str]:
    """Write the resource directories under DaCHS's ``inputs`` directory.

    Returns
    -------
    tuple of str
        The resource descriptors of the catalogue and of the images.
    """
    synth = inputs / "synth"
    (synth / "data").mkdir(parents=True, exist_ok=True)
    (synth / "q.rd").write_text(CATALOG_RD)
    (synth / "data" / "synth.csv").write_text(_catalog_csv(rows))
    images = inputs / "synthimg"
    (images / "data").mkdir(parents=True, exist_ok=True)
    (images / "q.rd").write_text(IMAGES_RD)
    for image in IMAGES:
        _write_image(images / "data" / f"{image.name}.fits", image)
    return "synth/q", "synthimg/q"
