SELECT object_id, flux, '{{ query_id }}' AS query_id, 'flux-range' AS template
FROM synth.main
WHERE flux > {{ min_flux }} AND flux < {{ max_flux }}
