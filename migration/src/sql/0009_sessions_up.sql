-- Sessions end when a person says so: tokens issued before this moment are refused
-- (revokeSessions, a password change, disabling the user).
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz;

-- What each request checks of its token's user before a tenant is set: runs as the owner and
-- returns only what authorization needs.
CREATE OR REPLACE FUNCTION auth_user_access(p_user uuid)
RETURNS TABLE (tenant_id uuid, role text, status text, sessions_valid_after timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.tenant_id, u.role, u.status, u.sessions_valid_after FROM users u WHERE u.id = p_user
$$;
