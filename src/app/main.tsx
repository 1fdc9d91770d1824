/** Entry: pick the language, render, connect to the daemon's state stream. */
import { render } from 'preact';
import { connectState } from './api.ts';
import { App } from './app.tsx';
import { pickLang, setLang } from './i18n/index.ts';
import '../ui/base.css';
import './styles.css';

setLang(pickLang(new URLSearchParams(location.search).get('lang'), navigator.languages?.length ? navigator.languages : [navigator.language]));
render(<App />, document.getElementById('app')!);
connectState();
