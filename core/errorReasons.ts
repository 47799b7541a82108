/**
 * Every reason a domain error can give in `details.reason`: stable codes that API clients
 * (the web app among them) turn into a sentence in the user's language. The English
 * `message` stays for scripts and logs; the reason is the contract. A reason added here
 * without an en and zh-CN sentence in web/src/i18n fails test/api.errorReasons.test.ts.
 */
export const ERROR_REASONS = [
  // requests and sessions
  'invalid_input', 'nothing_to_change', 'authentication_required', 'role_forbidden', 'rate_limited',
  'json_required', 'octet_stream_required', 'cross_origin_refused', 'body_too_large', 'body_not_json',
  'encoding_unsupported', 'charset_unsupported', 'bad_request', 'duplicate_record', 'database_unavailable',
  'internal_error', 'no_such_endpoint', 'metrics_not_served', 'metrics_token_required',
  // login, passwords, MFA
  'invalid_credentials', 'totp_required', 'invalid_totp', 'totp_reused', 'wrong_password', 'password_unchanged',
  'password_change_required', 'password_too_short', 'password_too_long', 'password_contains_username',
  'password_repeated_character', 'password_too_common', 'mfa_enrolment_required', 'mfa_required_by_role',
  'mfa_already_enabled', 'mfa_not_enabled', 'mfa_not_started',
  // users, groups, keys, tokens
  'user_not_found', 'username_taken', 'cannot_change_own_role', 'cannot_delete_self', 'last_admin',
  'unknown_user', 'unknown_user_group', 'user_group_not_found', 'group_name_taken', 'token_not_found',
  'token_expiry_in_past', 'token_limit_reached', 'key_limit_reached', 'key_not_found', 'key_already_registered', 'key_registered_to_other_user',
  'key_not_one_line', 'key_is_private', 'key_type_dsa', 'key_type_unsupported', 'key_malformed', 'key_rsa_too_short',
  // assets, nodes, accounts
  'asset_not_found', 'asset_name_taken', 'unknown_asset', 'node_not_found', 'unknown_node', 'unknown_parent_node',
  'node_name_taken', 'root_node_missing', 'root_node_immovable', 'root_node_undeletable', 'node_under_itself',
  'node_has_children', 'node_has_assets', 'system_user_not_found', 'admin_user_not_found', 'unknown_system_user',
  'unknown_admin_user', 'account_name_taken', 'invalid_private_key', 'no_host_key', 'invalid_address',
  // access
  'not_granted', 'action_not_allowed', 'system_user_not_granted', 'ambiguous_address', 'command_not_allowed',
  'permission_not_found', 'permission_name_taken', 'no_actions', 'valid_to_before_valid_from', 'unknown_id',
  'command_filter_not_found', 'command_filter_name_taken', 'pattern_too_long', 'pattern_too_costly', 'pattern_invalid',
  // jobs
  'no_assets_chosen', 'no_asset_with_labels', 'job_not_found', 'job_not_running', 'job_still_running',
  'nothing_to_retry', 'retry_assets_gone', 'asset_without_admin_user', 'tool_not_installed',
  'saved_command_not_found', 'saved_command_name_taken', 'auditor_cannot_cancel', 'retry_own_jobs_only',
  'node_required', 'permission_required',
  // audit
  'session_not_found', 'session_not_active', 'session_limit_reached', 'no_recording', 'recording_file_missing', 'recording_active', 'recording_session_running',
  'segment_not_found', 'confirmation_not_found', 'confirmation_decided', 'confirmation_closed', 'own_confirmation', 'retention_too_short', 'purge_too_soon',
  // web file manager
  'file_manager_unavailable', 'asset_unavailable', 'operation_refused', 'transfer_not_allowed', 'file_not_found',
  'file_permission_denied', 'file_connection_lost', 'file_op_unsupported', 'file_op_failed', 'file_session_ended',
  'file_exists', 'is_a_directory', 'path_too_long', 'path_control_characters', 'path_not_absolute',
  'path_dot_components', 'path_name_too_long', 'path_needs_name',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_REASONS);

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && KNOWN.has(value);
}
