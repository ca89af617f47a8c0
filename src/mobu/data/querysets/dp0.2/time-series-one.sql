SELECT fs.objectId, fs.ccdVisitId, fs.band, fs.psfFlux, fs.psfFluxErr, fs.psfDiffFlux, cv.expMidptMJD,
       '{{ query_id }}' AS query_id, 'time-series-one' AS template
FROM dp02_dc2_catalogs.ForcedSource AS fs
JOIN dp02_dc2_catalogs.CcdVisit AS cv ON cv.ccdVisitId = fs.ccdVisitId
WHERE fs.objectId = {{ object }}
