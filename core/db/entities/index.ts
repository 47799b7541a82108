import { ApiTokenEntity, AssetFavouriteEntity, AuthSessionEntity, RecoveryCodeEntity, UserEntity, UserGroupEntity, UserKeyEntity } from './identity.ts';
import { AdminUserEntity, AssetEntity, HostKeyEntity, NodeEntity, SystemUserEntity } from './assets.ts';
import { CommandFilterEntity, PermissionEntity, SettingEntity } from './access.ts';
import { CommandConfirmationEntity, CommandEntity, FileTransferEntity, JobEntity, LoginLogEntity, OperationLogEntity, SavedCommandEntity, SessionEntity, SshConnectionEntity } from './audit.ts';

export * from './identity.ts';
export * from './assets.ts';
export * from './access.ts';
export * from './audit.ts';

export const allEntities = [
  UserEntity, UserGroupEntity, UserKeyEntity, ApiTokenEntity, AuthSessionEntity, AssetFavouriteEntity, RecoveryCodeEntity,
  NodeEntity, AssetEntity, SystemUserEntity, AdminUserEntity, HostKeyEntity,
  PermissionEntity, CommandFilterEntity, SettingEntity,
  SessionEntity, CommandEntity, LoginLogEntity, OperationLogEntity, FileTransferEntity, JobEntity, SavedCommandEntity, CommandConfirmationEntity, SshConnectionEntity,
];
