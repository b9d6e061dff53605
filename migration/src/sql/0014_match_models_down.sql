DROP TABLE match_models;
