"""The HTTP service: a read-only SPARQL 1.1 Protocol endpoint, canned-query routes, linked-data
pages, a VoID/DCAT description and a landing page with YASGUI, over ``kg.store.Store``."""
