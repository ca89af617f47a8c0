SELECT forcedSourceId, objectId, ccdVisitId, band, psfFlux,
       '{{ query_id }}' AS query_id, 'scan-forcedsource' AS template
FROM dp02_dc2_catalogs.ForcedSource
WHERE psfFlux BETWEEN {{ min_flux }} AND {{ max_flux }}
