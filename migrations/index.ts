import { Initial1764000000000 } from './1764000000000-Initial.ts';
import { TotpLastStep1764100000000 } from './1764100000000-TotpLastStep.ts';
import { SessionHeartbeat1764200000000 } from './1764200000000-SessionHeartbeat.ts';
import { SessionRecordingIncomplete1764450000000 } from './1764450000000-SessionRecordingIncomplete.ts';
import { CommandNotEchoed1764500000000 } from './1764500000000-CommandNotEchoed.ts';
import { LoginThrottle1764600000000 } from './1764600000000-LoginThrottle.ts';
import { SessionChannel1764900000000 } from './1764900000000-SessionChannel.ts';
import { AssetFavourite1765000000000 } from './1765000000000-AssetFavourite.ts';
import { SavedCommands1765100000000 } from './1765100000000-SavedCommands.ts';
import { RecoveryCodes1765200000000 } from './1765200000000-RecoveryCodes.ts';
import { DropUserFailedLogins1765300000000 } from './1765300000000-DropUserFailedLogins.ts';
import { SessionUserStatusIndex1765400000000 } from './1765400000000-SessionUserStatusIndex.ts';
import { CommandConfirmationClaims1765500000000 } from './1765500000000-CommandConfirmationClaims.ts';
import { JobHeartbeat1765600000000 } from './1765600000000-JobHeartbeat.ts';
import { SshConnectionLeases1765700000000 } from './1765700000000-SshConnectionLeases.ts';
import { SshConnectionHolder1765800000000 } from './1765800000000-SshConnectionHolder.ts';

export const migrations = [Initial1764000000000, TotpLastStep1764100000000, SessionHeartbeat1764200000000, SessionRecordingIncomplete1764450000000, CommandNotEchoed1764500000000, LoginThrottle1764600000000, SessionChannel1764900000000, AssetFavourite1765000000000, SavedCommands1765100000000, RecoveryCodes1765200000000, DropUserFailedLogins1765300000000, SessionUserStatusIndex1765400000000, CommandConfirmationClaims1765500000000, JobHeartbeat1765600000000, SshConnectionLeases1765700000000, SshConnectionHolder1765800000000];
