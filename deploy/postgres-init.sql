CREATE DATABASE engagement_index;
CREATE DATABASE form_engine;
CREATE DATABASE patient_portal;
