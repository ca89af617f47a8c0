SELECT band, COUNT(*) AS n,
       '{{ query_id }}' AS query_id, 'histogram-forcedsource' AS template
FROM dp02_dc2_catalogs.ForcedSource
WHERE psfFlux BETWEEN {{ min_flux }} AND {{ max_flux }}
GROUP BY band
