"""Index: Elasticsearch index templates, ILM policies and Kibana saved objects."""
